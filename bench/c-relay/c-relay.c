/*
 * c-relay: the plain C reference relay WindowRelay is measured beside (docs/benchmarks.md).
 *
 * One libwebsockets 4.1 service thread on either of WindowRelay's event backends (listen.eventLoop):
 * lws's own poll loop, or lws's libev plugin on a libev (epoll) loop of ours. A WebSocket at
 * /room/<n> joins room n; every message received is forwarded, unchanged (binary or text), to
 * every other member of its room. No authentication, no checks, no recording. Each member has a
 * queue of shared, reference-counted messages; when a queue is full its oldest message is dropped.
 *
 *   c-relay [port] [poll|libev]   (default 18444 poll); prints "listening on ws://127.0.0.1:<port>"
 *                                 when ready.
 */
#include <ev.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE 256            /* messages queued per member before the oldest is dropped */
#define MAX_MESSAGE 65536

struct message { int refs; int binary; size_t len; unsigned char data[]; /* LWS_PRE + len */ };
struct member;
struct room { struct member *first; };
struct member {
    struct lws *wsi;
    struct room *room;
    struct member *next;
    struct message *queue[QUEUE];
    unsigned head, count;
    unsigned char *rx; size_t rx_len;  /* a fragmented message being assembled */
};

static struct room **rooms;
static size_t room_count;
static volatile int interrupted;
static unsigned long dropped;

static void unref(struct message *m) { if (--m->refs == 0) free(m); }

static struct room *room_for(const char *uri) {
    if (strncmp(uri, "/room/", 6) != 0) return NULL;
    char *end;
    unsigned long n = strtoul(uri + 6, &end, 10);
    if (end == uri + 6 || *end || n >= 10000000) return NULL;
    if (n >= room_count) {
        size_t grown = n + 1 > room_count * 2 ? n + 1 : room_count * 2;
        rooms = realloc(rooms, grown * sizeof *rooms);
        memset(rooms + room_count, 0, (grown - room_count) * sizeof *rooms);
        room_count = grown;
    }
    if (!rooms[n]) rooms[n] = calloc(1, sizeof **rooms);
    return rooms[n];
}

static void forward(struct member *from, const unsigned char *data, size_t len, int binary) {
    struct message *m = malloc(sizeof *m + LWS_PRE + len);
    m->refs = 1; m->binary = binary; m->len = len;
    memcpy(m->data + LWS_PRE, data, len);
    for (struct member *to = from->room->first; to; to = to->next) {
        if (to == from) continue;
        if (to->count == QUEUE) {  /* full: drop the oldest */
            unref(to->queue[to->head]);
            to->head = (to->head + 1) % QUEUE; to->count--; dropped++;
        }
        to->queue[(to->head + to->count) % QUEUE] = m; to->count++; m->refs++;
        lws_callback_on_writable(to->wsi);
    }
    unref(m);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    struct member *me = user;
    char uri[128];
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(me, 0, sizeof *me);
        if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 || !(me->room = room_for(uri)))
            return -1;
        me->wsi = wsi;
        me->next = me->room->first; me->room->first = me;
        break;
    case LWS_CALLBACK_RECEIVE: {
        int final = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
        int binary = lws_frame_is_binary(wsi);
        if (final && !me->rx) { forward(me, in, len, binary); break; }
        if (me->rx_len + len > MAX_MESSAGE) return -1;
        me->rx = realloc(me->rx, me->rx_len + len + 1);
        memcpy(me->rx + me->rx_len, in, len); me->rx_len += len;
        if (final) { forward(me, me->rx, me->rx_len, binary); free(me->rx); me->rx = NULL; me->rx_len = 0; }
        break;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (!me->count) break;
        struct message *m = me->queue[me->head];
        me->head = (me->head + 1) % QUEUE; me->count--;
        int n = lws_write(wsi, m->data + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        unref(m);
        if (n < 0) return -1;
        if (me->count) lws_callback_on_writable(wsi);
        break;
    }
    case LWS_CALLBACK_CLOSED:
        if (me->room) {
            struct member **p = &me->room->first;
            while (*p && *p != me) p = &(*p)->next;
            if (*p) *p = me->next;
        }
        while (me->count) { unref(me->queue[me->head]); me->head = (me->head + 1) % QUEUE; me->count--; }
        free(me->rx); me->rx = NULL; me->room = NULL;
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    { "c-relay", callback, sizeof(struct member), 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

static struct lws_context *running;

/* lws_cancel_service only writes to lws's pipe, which wakes the loop to see `interrupted`. */
static void on_signal(int sig) {
    (void)sig;
    interrupted = 1;
    if (running) lws_cancel_service(running);
}

int main(int argc, char **argv) {
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = argc > 1 ? atoi(argv[1]) : 18444;
    info.iface = "lo";  /* loopback only (lws binds a named interface reliably) */
    info.protocols = protocols;
    info.gid = -1; info.uid = -1;
    signal(SIGINT, on_signal); signal(SIGTERM, on_signal);
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    struct ev_loop *loop = NULL;
    void *foreign[1];
    if (argc > 2 && strcmp(argv[2], "libev") == 0) {
        /* As WindowRelay's ServiceLoop: a loop we own and run, lws only adds its watchers. */
        loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
        if (!loop) { fprintf(stderr, "c-relay: libev has no epoll loop\n"); return 1; }
        foreign[0] = loop;
        info.foreign_loops = foreign;
        info.options |= LWS_SERVER_OPTION_LIBEV;
    } else if (argc > 2 && strcmp(argv[2], "poll") != 0) {
        fprintf(stderr, "usage: c-relay [port] [poll|libev]\n");
        return 2;
    }
    struct lws_context *context = lws_create_context(&info);
    if (!context) { fprintf(stderr, "c-relay: cannot listen on port %d\n", info.port); return 1; }
    printf("listening on ws://127.0.0.1:%d\n", info.port);
    fflush(stdout);
    running = context;
    if (loop) {
        while (!interrupted) ev_run(loop, EVRUN_ONCE);
    } else {
        while (!interrupted && lws_service(context, 0) >= 0) {}
    }
    running = NULL;
    lws_context_destroy(context);
    if (loop) ev_loop_destroy(loop);
    fprintf(stderr, "c-relay: %lu messages dropped from full queues\n", dropped);
    return 0;
}
