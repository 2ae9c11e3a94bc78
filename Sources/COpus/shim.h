#ifndef WINDOWRELAY_COPUS_SHIM_H
#define WINDOWRELAY_COPUS_SHIM_H
#include <opus/opus.h>
#endif
