/* SPDX-License-Identifier: Apache-2.0 */
/* mqtt-load: opens and holds N MQTT 3.1.1 connections (real CONNECT /
 * CONNACK, PINGREQ every keepalive/2), spreading source addresses over
 * several local IPs so one client machine can exceed one address's
 * ephemeral ports. Reports connections held, connect rate, drops, as one
 * JSON line per report interval. Benchmark tool, not part of the product.
 *
 *   mqtt-load -t HOST:PORT -n 100000 [-s 10.0.0.2,10.0.0.3] [-r 2000]
 *             [-k 60] [-H 300] [-i 5] [-p PUBLISH_EVERY_S -z 100] [-T 60] [-P 1000]
 *
 * -P caps the connections in flight (connect() to CONNACK): a slow target
 * (a proxy under TCG) then sets the pace, instead of the generator
 * overflowing its accept queue and losing connections to SYN retries that
 * run out, which would measure the generator, not the proxy.
 *
 * The hold starts when every connection has its CONNACK or has failed, or
 * -T seconds after the last connect() when some never settle: a proxy at
 * its maxconn leaves the rest waiting in its accept queue or in SYN
 * retries, and a benchmark must still end.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum cstate { C_FREE, C_CONNECTING, C_WAIT_CONNACK, C_UP };
struct conn {
        int fd;
        enum cstate st;
        uint8_t in[8];
        uint8_t inlen;
        double next_ping, next_pub;
};

static struct conn *conns;
static long n_target, n_up, n_connect_fail, n_drops, n_pubs, n_opened, n_pending;
/* connect() or bind() refused at once (EADDRNOTAVAIL: this side's ports
 * are exhausted, EMFILE: the fd limit): counted apart from failures the
 * peer causes, with the last errno, so a run says which side ran out */
static long n_open_failed;
static int open_errno;
static int ep;

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int encode_connect(uint8_t *b, long id, int keepalive) {
        char cid[24];
        int cl = snprintf(cid, sizeof(cid), "ld%ld", id);
        int rem = 10 + 2 + cl;
        int n = 0;
        b[n++] = 0x10;
        b[n++] = (uint8_t) rem;
        memcpy(b + n, "\x00\x04MQTT\x04\x02", 8);   /* protocol level 4, clean session */
        n += 8;
        b[n++] = (uint8_t) (keepalive >> 8);
        b[n++] = (uint8_t) keepalive;
        b[n++] = 0;
        b[n++] = (uint8_t) cl;
        memcpy(b + n, cid, (size_t) cl);
        return n + cl;
}

static void drop(long i, bool was_up) {
        struct conn *c = &conns[i];
        if (c->fd >= 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
        }
        if (was_up) {
                n_up--;
                n_drops++;
        } else {
                n_connect_fail++;
                n_pending--;
        }
        c->fd = -1;
        c->st = C_FREE;
}

static int open_one(long i, const struct sockaddr_in *dst, struct in_addr *srcs, int nsrc) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0)
                return -errno;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (nsrc > 0) {
                struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr = srcs[i % nsrc] };
                setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
                if (bind(fd, (struct sockaddr *) &src, sizeof(src)) < 0) {
                        int e = -errno;
                        close(fd);
                        return e;
                }
        }
        if (connect(fd, (const struct sockaddr *) dst, sizeof(*dst)) < 0 && errno != EINPROGRESS) {
                int e = -errno;
                close(fd);
                return e;
        }
        conns[i] = (struct conn) { .fd = fd, .st = C_CONNECTING };
        struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u64 = (uint64_t) i };
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        n_opened++;
        n_pending++;
        return 0;
}

int main(int argc, char **argv) {
        const char *target = NULL, *srclist = NULL;
        long rate = 2000;
        int keepalive = 60, hold = 60, interval = 5, pub_every = 0, pub_size = 100, settle = 60, opt;
        long max_pending = 0;
        while ((opt = getopt(argc, argv, "t:n:s:r:k:H:i:p:z:T:P:")) >= 0)
                switch (opt) {
                case 't': target = optarg; break;
                case 'n': n_target = atol(optarg); break;
                case 's': srclist = optarg; break;
                case 'r': rate = atol(optarg); break;
                case 'k': keepalive = atoi(optarg); break;
                case 'H': hold = atoi(optarg); break;
                case 'i': interval = atoi(optarg); break;
                case 'p': pub_every = atoi(optarg); break;
                case 'z': pub_size = atoi(optarg); break;
                case 'T': settle = atoi(optarg); break;
                case 'P': max_pending = atol(optarg); break;
                default:
                        fprintf(stderr, "usage: %s -t HOST:PORT -n N [-s SRC1,SRC2] [-r RATE/s] [-k KEEPALIVE] [-H HOLD_S] [-i REPORT_S] [-p PUB_EVERY_S -z BYTES] [-T SETTLE_S] [-P MAX_IN_FLIGHT]\n", argv[0]);
                        return 2;
                }
        if (!target || n_target <= 0) {
                fprintf(stderr, "mqtt-load: -t and -n are required\n");
                return 2;
        }
        struct sockaddr_in dst = { .sin_family = AF_INET };
        char host[64];
        int port;
        if (sscanf(target, "%63[^:]:%d", host, &port) != 2 || inet_pton(AF_INET, host, &dst.sin_addr) != 1) {
                fprintf(stderr, "mqtt-load: bad target %s\n", target);
                return 2;
        }
        dst.sin_port = htons((uint16_t) port);
        struct in_addr srcs[64];
        int nsrc = 0;
        if (srclist) {
                char *copy = strdup(srclist);
                for (char *t = strtok(copy, ","); t && nsrc < 64; t = strtok(NULL, ","))
                        if (inet_pton(AF_INET, t, &srcs[nsrc]) == 1)
                                nsrc++;
                free(copy);
        }
        struct rlimit rl = { n_target + 1024, n_target + 1024 };
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                fprintf(stderr, "mqtt-load: cannot raise RLIMIT_NOFILE to %ld: %s\n", n_target + 1024, strerror(errno));
        signal(SIGPIPE, SIG_IGN);
        conns = calloc((size_t) n_target, sizeof(*conns));
        ep = epoll_create1(EPOLL_CLOEXEC);
        for (long i = 0; i < n_target; i++)
                conns[i].fd = -1;

        double t0 = now(), next_report = t0 + interval, full_at = 0, end = 0, opened_all_at = 0, last_connack = t0;
        long next_open = 0, peak = 0, up_at_hold = 0;
        uint8_t *payload = calloc(1, (size_t) pub_size + 64);
        struct epoll_event evs[1024];
        for (;;) {
                double t = now();
                /* open at the requested rate */
                long want = (long) ((t - t0) * rate);
                while (next_open < n_target && next_open < want && (max_pending <= 0 || n_pending < max_pending)) {
                        int r = open_one(next_open, &dst, srcs, nsrc);
                        if (r < 0) {
                                n_connect_fail++;
                                n_open_failed++;
                                open_errno = -r;
                        }
                        next_open++;
                        if (next_open == n_target)
                                opened_all_at = t;
                }
                int k = epoll_wait(ep, evs, 1024, 50);
                for (int e = 0; e < k; e++) {
                        long i = (long) evs[e].data.u64;
                        struct conn *c = &conns[i];
                        if (c->st == C_FREE)
                                continue;
                        if (evs[e].events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
                                drop(i, c->st == C_UP);
                                continue;
                        }
                        if (c->st == C_CONNECTING && (evs[e].events & EPOLLOUT)) {
                                uint8_t b[64];
                                int n = encode_connect(b, i, keepalive);
                                if (write(c->fd, b, (size_t) n) != n) {
                                        drop(i, false);
                                        continue;
                                }
                                c->st = C_WAIT_CONNACK;
                                struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = (uint64_t) i };
                                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                        }
                        if (evs[e].events & EPOLLIN) {
                                uint8_t b[256];
                                ssize_t n = read(c->fd, b, sizeof(b));
                                if (n <= 0) {
                                        if (n == 0 || errno != EAGAIN)
                                                drop(i, c->st == C_UP);
                                        continue;
                                }
                                if (c->st == C_WAIT_CONNACK) {
                                        if (n >= 4 && b[0] == 0x20 && b[3] == 0) {
                                                c->st = C_UP;
                                                n_up++;
                                                n_pending--;
                                                if (!full_at)
                                                        last_connack = t;
                                                c->next_ping = t + keepalive / 2.0 + (i % 1000) / 1000.0 * keepalive / 2.0;
                                                c->next_pub = pub_every ? t + (i % 1000) / 1000.0 * pub_every : 0;
                                        } else
                                                drop(i, false);
                                }
                                /* PINGRESP (0xd0 0x00) and anything else: consumed */
                        }
                }
                t = now();
                /* keepalive pings and optional publishes, scanning a slice per loop */
                static long scan;
                for (long s = 0; s < 4096 && n_target > 0; s++, scan = (scan + 1) % n_target) {
                        struct conn *c = &conns[scan];
                        if (c->st != C_UP)
                                continue;
                        if (t >= c->next_ping) {
                                static const uint8_t ping[2] = { 0xc0, 0x00 };
                                if (write(c->fd, ping, 2) != 2)
                                        drop(scan, true);
                                else
                                        c->next_ping = t + keepalive / 2.0;
                        }
                        if (c->st == C_UP && pub_every && t >= c->next_pub) {
                                char topic[32];
                                int tl = snprintf(topic, sizeof(topic), "load/%ld", scan);
                                size_t rem = 2 + (size_t) tl + (size_t) pub_size;
                                uint8_t hdr[8];
                                size_t hn = 0;
                                hdr[hn++] = 0x30;       /* PUBLISH QoS 0 */
                                do {
                                        uint8_t d = rem % 128;
                                        rem /= 128;
                                        hdr[hn++] = d | (rem ? 0x80 : 0);
                                } while (rem);
                                hdr[hn++] = 0;
                                hdr[hn++] = (uint8_t) tl;
                                memcpy(payload, hdr, hn);
                                memcpy(payload + hn, topic, (size_t) tl);
                                memset(payload + hn + tl, 'x', (size_t) pub_size);
                                ssize_t want_n = (ssize_t) (hn + (size_t) tl + (size_t) pub_size);
                                if (write(c->fd, payload, (size_t) want_n) != want_n)
                                        drop(scan, true);
                                else {
                                        n_pubs++;
                                        c->next_pub = t + pub_every;
                                }
                        }
                }
                if (n_up > peak)
                        peak = n_up;
                if (!full_at && next_open >= n_target && (n_pending == 0 || t >= opened_all_at + settle)) {
                        full_at = t;
                        end = t + hold;
                        up_at_hold = n_up;
                }
                if (t >= next_report) {
                        printf("{\"t\":%.1f,\"target\":%ld,\"opened\":%ld,\"up\":%ld,\"pending\":%ld,\"peak\":%ld,\"connect_failed\":%ld,\"drops\":%ld,\"publishes\":%ld}\n",
                               t - t0, n_target, n_opened, n_up, n_pending, peak, n_connect_fail, n_drops, n_pubs);
                        fflush(stdout);
                        next_report = t + interval;
                }
                if (full_at && t >= end)
                        break;
        }
        /* connect rate: CONNACKs per second from the start to the last one
         * before the hold (not to the settle timeout, which is idle time) */
        double ramp = last_connack - t0 > 0 ? last_connack - t0 : 1;
        printf("{\"final\":true,\"target\":%ld,\"up\":%ld,\"up_at_hold\":%ld,\"pending\":%ld,\"peak\":%ld,\"connect_failed\":%ld,\"drops\":%ld,\"publishes\":%ld,\"ramp_s\":%.1f,\"hold_s\":%d,\"connect_rate\":%.0f,\"open_failed\":%ld,\"open_error\":\"%s\"}\n",
               n_target, n_up, up_at_hold, n_pending, peak, n_connect_fail, n_drops, n_pubs, ramp, hold, (double) up_at_hold / ramp,
               n_open_failed, open_errno ? strerrorname_np(open_errno) : "");
        return 0;
}
