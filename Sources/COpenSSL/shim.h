#ifndef WINDOWRELAY_COPENSSL_SHIM_H
#define WINDOWRELAY_COPENSSL_SHIM_H
/* libcrypto for RelayMedia: EVP digests (SHA-256), one-shot HMAC, CRYPTO_memcmp.
 * Everything used imports into Swift as is; no wrappers are needed yet. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#endif
