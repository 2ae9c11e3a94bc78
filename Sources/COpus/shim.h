#ifndef WINDOWRELAY_COPUS_SHIM_H
#define WINDOWRELAY_COPUS_SHIM_H
#include <opus/opus.h>

/* opus_encoder_ctl and opus_decoder_ctl are variadic, which Swift cannot call. These four
 * wrappers cover every integer set/get request: pass an OPUS_*_REQUEST constant (those import;
 * the OPUS_SET_* / OPUS_GET_* macros do not). */

static inline int windowrelay_opus_encoder_set(OpusEncoder *st, int request, opus_int32 value) {
    return opus_encoder_ctl(st, request, value);
}

static inline int windowrelay_opus_encoder_get(OpusEncoder *st, int request, opus_int32 *value) {
    return opus_encoder_ctl(st, request, value);
}

static inline int windowrelay_opus_decoder_set(OpusDecoder *st, int request, opus_int32 value) {
    return opus_decoder_ctl(st, request, value);
}

static inline int windowrelay_opus_decoder_get(OpusDecoder *st, int request, opus_int32 *value) {
    return opus_decoder_ctl(st, request, value);
}

#endif
