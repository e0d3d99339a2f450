/* SPDX-License-Identifier: Apache-2.0 */
/* mqtt-sink: a minimal MQTT endpoint standing in for the VerneMQ NodePort
 * (30004) in the lb benchmark: answers CONNECT with CONNACK and PINGREQ with
 * PINGRESP, counts PUBLISH packets, holds any number of connections (epoll).
 * Prints a JSON line of counters every -i seconds. Benchmark tool only.
 *
 *   mqtt-sink -l ADDR:PORT [-l ADDR:PORT ...] [-i 5]
 *
 * It never closes a connection because a write would block: an answer the
 * socket cannot take now waits for EPOLLOUT, and the connection is not read
 * meanwhile (the peer's further packets wait in the kernel). Connections
 * end only when the peer ends them (closed: FIN, reset: an error), on an
 * MQTT DISCONNECT, or on a malformed packet (protocol), each counted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "mqtt-io.h"

#define MAXL 16
struct st {
        uint8_t in[512];
        uint32_t inlen;
        uint8_t out[64];
        uint32_t outlen;
        uint32_t skip;   /* bytes left of a PUBLISH too big to buffer */
};
static struct st **state;
static size_t nstate;
static long n_conn, n_open, n_pub, n_ping, n_closed, n_reset, n_proto, n_disconnect, n_write_waits, n_accept_err;
static int ep;

static struct st *st_for(int fd) {
        if ((size_t) fd >= nstate) {
                size_t n = (size_t) fd * 2 + 1024;
                struct st **s = realloc(state, n * sizeof(*state));
                if (!s)
                        return NULL;
                state = s;
                memset(state + nstate, 0, (n - nstate) * sizeof(*state));
                nstate = n;
        }
        if (!state[fd])
                state[fd] = calloc(1, sizeof(struct st));
        return state[fd];
}

static void closefd(int fd, long *reason) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
        if ((size_t) fd < nstate && state[fd])
                state[fd]->inlen = state[fd]->outlen = state[fd]->skip = 0;
        n_open--;
        (*reason)++;
}

/* read while nothing waits to be written, write while something does */
static void set_events(int fd, const struct st *s) {
        struct epoll_event ev = { .events = EPOLLRDHUP | (s->outlen ? EPOLLOUT : EPOLLIN), .data.fd = fd };
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* Returns 0, or a positive errno when the connection is dead. */
static int flush(int fd, struct st *s) { return write_queued(fd, s->out, &s->outlen); }

/* Consumes whole packets while their answers fit the output buffer;
 * returns 0, or -1 for a malformed packet, -2 for DISCONNECT. */
static int handle(struct st *s) {
        uint32_t off = 0;
        while (s->inlen - off >= 2 || (s->skip && off < s->inlen)) {
                if (s->skip) {
                        uint32_t d = s->inlen - off < s->skip ? s->inlen - off : s->skip;
                        off += d;
                        s->skip -= d;
                        continue;
                }
                uint32_t rem = 0, mul = 1, i = 1;
                for (;; i++) {
                        if (off + i >= s->inlen)
                                goto partial;
                        rem += (s->in[off + i] & 127) * mul;
                        if (!(s->in[off + i] & 128))
                                break;
                        mul *= 128;
                        if (i > 4)
                                return -1;
                }
                uint32_t total = i + 1 + rem;
                uint8_t type = s->in[off] >> 4;
                if (total > sizeof(s->in)) {
                        if (type != 3)
                                return -1;
                        /* a large PUBLISH: counted, its bytes skipped as they come */
                        n_pub++;
                        s->skip = total;
                        continue;
                }
                if (s->inlen - off < total)
                        goto partial;
                if (type == 1 || type == 12) {
                        static const uint8_t connack[4] = { 0x20, 0x02, 0x00, 0x00 };
                        static const uint8_t pingresp[2] = { 0xd0, 0x00 };
                        const uint8_t *a = type == 1 ? connack : pingresp;
                        uint32_t alen = type == 1 ? 4 : 2;
                        if (s->outlen + alen > sizeof(s->out))
                                break;   /* the rest waits until the answers are out */
                        memcpy(s->out + s->outlen, a, alen);
                        s->outlen += alen;
                        if (type == 1)
                                n_conn++;
                        else
                                n_ping++;
                } else if (type == 3)
                        n_pub++;
                else if (type == 14)
                        return -2;
                off += total;
        }
partial:
        memmove(s->in, s->in + off, s->inlen - off);
        s->inlen -= off;
        return 0;
}

/* Answers what is buffered, sends what it can; returns 0 or the close
 * counter to charge. */
static long *serve(int fd, struct st *s) {
        for (;;) {
                int r = handle(s);
                if (r == -1)
                        return &n_proto;
                if (r == -2)
                        return &n_disconnect;
                uint32_t before = s->outlen;
                int err = flush(fd, s);
                if (err)
                        return err == ECONNRESET || err == EPIPE ? &n_reset : &n_closed;
                if (s->outlen > 0) {
                        n_write_waits++;
                        return NULL;
                }
                /* all sent: packets left behind for lack of room go now */
                if (before == 0 || s->inlen < 2)
                        return NULL;
        }
}

int main(int argc, char **argv) {
        int lfds[MAXL], nl = 0, interval = 5, opt;
        ep = epoll_create1(EPOLL_CLOEXEC);
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                struct rlimit nl2 = { 1 << 20, 1 << 20 };
                if (setrlimit(RLIMIT_NOFILE, &nl2) < 0) {
                        rl.rlim_cur = rl.rlim_max;
                        setrlimit(RLIMIT_NOFILE, &rl);
                }
        }
        signal(SIGPIPE, SIG_IGN);
        while ((opt = getopt(argc, argv, "l:i:")) >= 0) {
                if (opt == 'i') {
                        interval = atoi(optarg);
                        continue;
                }
                if (opt != 'l' || nl == MAXL) {
                        fprintf(stderr, "usage: %s -l ADDR:PORT [-l ...] [-i S]\n", argv[0]);
                        return 2;
                }
                char host[64];
                int port, one = 1;
                struct sockaddr_in a = { .sin_family = AF_INET };
                if (sscanf(optarg, "%63[^:]:%d", host, &port) != 2 || inet_pton(AF_INET, host, &a.sin_addr) != 1) {
                        fprintf(stderr, "mqtt-sink: bad address %s\n", optarg);
                        return 2;
                }
                a.sin_port = htons((uint16_t) port);
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(fd, 65535) < 0) {
                        fprintf(stderr, "mqtt-sink: %s: %s\n", optarg, strerror(errno));
                        return 1;
                }
                struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                lfds[nl++] = fd;
        }
        if (nl == 0 || interval <= 0) {
                fprintf(stderr, "mqtt-sink: give at least one -l ADDR:PORT (and -i > 0)\n");
                return 2;
        }
        time_t next = time(NULL) + interval;
        struct epoll_event evs[1024];
        for (;;) {
                int k = epoll_wait(ep, evs, 1024, 500);
                for (int e = 0; e < k; e++) {
                        int fd = evs[e].data.fd, is_l = 0;
                        for (int i = 0; i < nl; i++)
                                is_l |= fd == lfds[i];
                        if (is_l) {
                                int c;
                                /* a batch at a time: the listeners stay
                                 * level-triggered, the rest are served between */
                                for (int a = 0; a < 256; a++) {
                                        c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                                        if (c < 0) {
                                                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                                                        n_accept_err++;
                                                break;
                                        }
                                        struct st *s = st_for(c);
                                        if (!s) {
                                                close(c);
                                                n_accept_err++;
                                                continue;
                                        }
                                        s->inlen = s->outlen = s->skip = 0;
                                        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = c };
                                        epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                                        n_open++;
                                }
                                continue;
                        }
                        struct st *s = st_for(fd);
                        if (!s)
                                continue;
                        uint32_t had_out = s->outlen;
                        long *reason = NULL;
                        if (evs[e].events & EPOLLERR)
                                reason = &n_reset;
                        else if (s->outlen > 0) {
                                if (evs[e].events & EPOLLOUT)
                                        reason = serve(fd, s);
                                else if (evs[e].events & (EPOLLRDHUP | EPOLLHUP))
                                        reason = &n_closed;
                        } else {
                                ssize_t n = read(fd, s->in + s->inlen, sizeof(s->in) - s->inlen);
                                if (n == 0)
                                        reason = &n_closed;
                                else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                                        reason = errno == ECONNRESET ? &n_reset : &n_closed;
                                else if (n > 0) {
                                        s->inlen += (uint32_t) n;
                                        reason = serve(fd, s);
                                }
                        }
                        if (reason)
                                closefd(fd, reason);
                        else if ((had_out > 0) != (s->outlen > 0))
                                set_events(fd, s);
                }
                if (time(NULL) >= next) {
                        printf("{\"open\":%ld,\"connects\":%ld,\"publishes\":%ld,\"pings\":%ld,\"closed\":%ld,\"reset\":%ld,\"disconnect\":%ld,"
                               "\"protocol\":%ld,\"write_waits\":%ld,\"accept_errors\":%ld}\n",
                               n_open, n_conn, n_pub, n_ping, n_closed, n_reset, n_disconnect, n_proto, n_write_waits, n_accept_err);
                        fflush(stdout);
                        next = time(NULL) + interval;
                }
        }
}
