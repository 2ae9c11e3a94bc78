// Shims for what Swift cannot import from libwebsockets 4.1 (see shared/design/LIBWEBSOCKETS.md):
// expression macros (LWS_PRE), option flags built from other macros, and a timer record that
// carries a user pointer beside lws's sorted-usec-list node. Everything here is `static inline`.
#ifndef WINDOWRELAY_CLIBWEBSOCKETS_SHIM_H
#define WINDOWRELAY_CLIBWEBSOCKETS_SHIM_H

#include <ev.h>
#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

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
static inline uint64_t wr_option_peer_cert_not_required(void) { return LWS_SERVER_OPTION_PEER_CERT_NOT_REQUIRED; }

/// OpenSSL options that refuse TLS 1.0 and 1.1 (TLS 1.2 is the minimum).
static inline long wr_ssl_options_tls12_minimum(void) {
    return (long)(SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
}

/// Replaces the certificate chain and key of a server `SSL_CTX` (as handed to the
/// LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS callback) with the PEM files', for new
/// handshakes; connections already up keep theirs. The files are first loaded into a scratch
/// context, so a bad pair changes nothing. 0 on success, else -1 with OpenSSL's reason in `err`.
static inline int wr_ssl_ctx_reload(void *ssl_ctx, const char *cert, const char *key, char *err, size_t errlen) {
    SSL_CTX *ctx = (SSL_CTX *)ssl_ctx;
    SSL_CTX *scratch = SSL_CTX_new(TLS_server_method());
    int ok = scratch != NULL && SSL_CTX_use_certificate_chain_file(scratch, cert) == 1 &&
             SSL_CTX_use_PrivateKey_file(scratch, key, SSL_FILETYPE_PEM) == 1 && SSL_CTX_check_private_key(scratch) == 1;
    if (scratch != NULL) SSL_CTX_free(scratch);
    if (ok) {
        ok = SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 &&
             SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 && SSL_CTX_check_private_key(ctx) == 1;
    }
    if (!ok) {
        unsigned long code = ERR_get_error();
        if (code != 0) ERR_error_string_n(code, err, errlen);
        else snprintf(err, errlen, "cannot read the certificate or key");
        ERR_clear_error();
        return -1;
    }
    return 0;
}

/// The common name of the client certificate of `wsi` into `out` (NUL-terminated); -1 when the
/// peer presented none.
static inline int wr_peer_cert_common_name(struct lws *wsi, char *out, size_t len) {
    union {
        union lws_tls_cert_info_results results;
        char space[sizeof(union lws_tls_cert_info_results) + 256];
    } u;
    memset(&u, 0, sizeof(u));
    if (len == 0 || lws_tls_peer_cert_info(wsi, LWS_TLS_CERT_INFO_COMMON_NAME, &u.results, 256) != 0) return -1;
    size_t n = strnlen(u.results.ns.name, 256);
    if (n >= len) n = len - 1;
    memcpy(out, u.results.ns.name, n);
    out[n] = 0;
    return 0;
}

/// Client connection flags.
static inline int wr_client_flags(int use_tls, int allow_self_signed) {
    int f = 0;
    if (use_tls) f |= LCCSCF_USE_SSL;
    if (allow_self_signed) f |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
    return f;
}

/// The libev loop a context runs on when it uses lws's libev event-lib plugin as a foreign loop
/// (`info.foreign_loops`): the service thread owns it and runs it, lws only adds its watchers.
/// epoll where the kernel has it; libev leaves the signal mask alone (NOSIGMASK) and ignores
/// LIBEV_FLAGS in the environment (NOENV). NULL when libev cannot make a loop.
static inline void *wr_ev_loop_new(void) {
    unsigned int flags = EVFLAG_NOENV | EVFLAG_NOSIGMASK;
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL | flags);
    if (loop == NULL) loop = ev_loop_new(EVFLAG_AUTO | flags);
    return loop;
}

/// Waits for and handles one round of events (the libev form of one `lws_service` call).
static inline void wr_ev_run_once(void *loop) { ev_run((struct ev_loop *)loop, EVRUN_ONCE); }

static inline void wr_ev_loop_destroy(void *loop) { ev_loop_destroy((struct ev_loop *)loop); }

/// The kernel mechanism under a libev loop, for the log ("epoll", "poll", ...).
static inline const char *wr_ev_backend_name(void *loop) {
    switch (ev_backend((struct ev_loop *)loop)) {
    case EVBACKEND_EPOLL: return "epoll";
    case EVBACKEND_POLL: return "poll";
    case EVBACKEND_SELECT: return "select";
    default: return "other";
    }
}

/// A scheduled callback with a user pointer: lws hands back the node, which is the first member.
typedef struct wr_timer {
    lws_sorted_usec_list_t sul;
    void *user;
} wr_timer_t;

static inline void *wr_timer_user(lws_sorted_usec_list_t *sul) { return ((wr_timer_t *)sul)->user; }

#endif
