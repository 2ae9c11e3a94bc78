// Shims for what Swift cannot import from libwebsockets 4.1 (see shared/design/LIBWEBSOCKETS.md):
// expression macros (LWS_PRE), option flags built from other macros, and a timer record that
// carries a user pointer beside lws's sorted-usec-list node. Everything here is `static inline`.
#ifndef WINDOWRELAY_CLIBWEBSOCKETS_SHIM_H
#define WINDOWRELAY_CLIBWEBSOCKETS_SHIM_H

#include <libwebsockets.h>
#include <openssl/ssl.h>

/// Bytes of headroom lws needs in front of every payload passed to lws_write.
static inline size_t wr_lws_pre(void) { return LWS_PRE; }

/// Context options that are macros of macros.
static inline uint64_t wr_option_do_ssl_global_init(void) { return LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT; }
static inline uint64_t wr_option_require_valid_client_cert(void) {
    return LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT;
}
static inline uint64_t wr_option_ssl_ecdh(void) { return LWS_SERVER_OPTION_SSL_ECDH; }
static inline uint64_t wr_option_disable_ipv6(void) { return LWS_SERVER_OPTION_DISABLE_IPV6; }
static inline uint64_t wr_option_validate_utf8(void) { return LWS_SERVER_OPTION_VALIDATE_UTF8; }
static inline uint64_t wr_option_libev(void) { return LWS_SERVER_OPTION_LIBEV; }

/// OpenSSL options that refuse TLS 1.0 and 1.1 (TLS 1.2 is the minimum).
static inline long wr_ssl_options_tls12_minimum(void) {
    return (long)(SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
}

/// Client connection flags.
static inline int wr_client_flags(int use_tls, int allow_self_signed) {
    int f = 0;
    if (use_tls) f |= LCCSCF_USE_SSL;
    if (allow_self_signed) f |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
    return f;
}

/// A scheduled callback with a user pointer: lws hands back the node, which is the first member.
typedef struct wr_timer {
    lws_sorted_usec_list_t sul;
    void *user;
} wr_timer_t;

static inline void *wr_timer_user(lws_sorted_usec_list_t *sul) { return ((wr_timer_t *)sul)->user; }

#endif
