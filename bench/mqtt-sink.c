/* SPDX-License-Identifier: Apache-2.0 */
/* mqtt-sink: a minimal MQTT endpoint standing in for the VerneMQ NodePort
 * (30004) in the lb benchmark: answers CONNECT with CONNACK and PINGREQ with
 * PINGRESP, counts PUBLISH packets, holds any number of connections (epoll).
 * Prints a JSON line of counters every -i seconds. Benchmark tool only.
 *
 *   mqtt-sink -l ADDR:PORT [-l ADDR:PORT ...] [-i 5]
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

#define MAXL 16
struct st { uint8_t buf[512]; uint32_t len; };
static struct st **state;
static size_t nstate;
static long n_conn, n_open, n_pub, n_ping;

static struct st *st_for(int fd) {
        if ((size_t) fd >= nstate) {
                size_t n = (size_t) fd * 2 + 1024;
                state = realloc(state, n * sizeof(*state));
                memset(state + nstate, 0, (n - nstate) * sizeof(*state));
                nstate = n;
        }
        if (!state[fd])
                state[fd] = calloc(1, sizeof(struct st));
        return state[fd];
}

static void closefd(int ep, int fd) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
        if ((size_t) fd < nstate && state[fd])
                state[fd]->len = 0;
        n_open--;
}

/* Consumes whole packets; returns -1 to close. */
static int handle(int fd, struct st *s) {
        uint32_t off = 0;
        while (s->len - off >= 2) {
                uint32_t rem = 0, mul = 1, i = 1;
                for (;; i++) {
                        if (off + i >= s->len)
                                goto partial;
                        rem += (s->buf[off + i] & 127) * mul;
                        if (!(s->buf[off + i] & 128))
                                break;
                        mul *= 128;
                        if (i > 4)
                                return -1;
                }
                uint32_t total = i + 1 + rem;
                if (total > sizeof(s->buf))
                        return -1;
                if (s->len - off < total)
                        goto partial;
                uint8_t type = s->buf[off] >> 4;
                if (type == 1) {
                        static const uint8_t connack[4] = { 0x20, 0x02, 0x00, 0x00 };
                        if (write(fd, connack, 4) != 4)
                                return -1;
                        n_conn++;
                } else if (type == 12) {
                        static const uint8_t pingresp[2] = { 0xd0, 0x00 };
                        if (write(fd, pingresp, 2) != 2)
                                return -1;
                        n_ping++;
                } else if (type == 3)
                        n_pub++;
                else if (type == 14)
                        return -1;
                off += total;
        }
partial:
        memmove(s->buf, s->buf + off, s->len - off);
        s->len -= off;
        return 0;
}

int main(int argc, char **argv) {
        int lfds[MAXL], nl = 0, interval = 5, opt;
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct rlimit rl = { 1 << 20, 1 << 20 };
        setrlimit(RLIMIT_NOFILE, &rl);
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
        if (nl == 0) {
                fprintf(stderr, "mqtt-sink: give at least one -l ADDR:PORT\n");
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
                                while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                                        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = c };
                                        epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                                        st_for(c)->len = 0;
                                        n_open++;
                                }
                                continue;
                        }
                        struct st *s = st_for(fd);
                        ssize_t n = read(fd, s->buf + s->len, sizeof(s->buf) - s->len);
                        if (n <= 0) {
                                if (n == 0 || errno != EAGAIN)
                                        closefd(ep, fd);
                                continue;
                        }
                        s->len += (uint32_t) n;
                        if (handle(fd, s) < 0)
                                closefd(ep, fd);
                }
                if (time(NULL) >= next) {
                        printf("{\"open\":%ld,\"connects\":%ld,\"publishes\":%ld,\"pings\":%ld}\n", n_open, n_conn, n_pub, n_ping);
                        fflush(stdout);
                        next = time(NULL) + interval;
                }
        }
}
