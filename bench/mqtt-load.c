/* SPDX-License-Identifier: Apache-2.0 */
/* mqtt-load: opens and holds N MQTT 3.1.1 connections (real CONNECT /
 * CONNACK, PINGREQ every keepalive/2), spreading source addresses over
 * several local IPs so one client machine can exceed one address's
 * ephemeral ports. Reports connections held, connect rate, failures and
 * drops by cause, as one JSON line per report interval and a final one.
 * Benchmark tool, not part of the product.
 *
 *   mqtt-load -t HOST:PORT -n 100000 [-s 10.0.0.2,10.0.0.3] [-r 2000]
 *             [-k 60] [-H 300] [-i 5] [-p PUBLISH_EVERY_S -z 100] [-T 60] [-P 1000]
 *             [-R MAX_ATTEMPTS -B FIRST_BACKOFF_S] [-I CLIENT_ID_PREFIX]
 *
 * -p takes fractions (0.02: 50 publishes a second per connection).
 *
 * What the numbers mean (they must say what the proxy did, not what this
 * tool did to itself):
 *   up       connections that have their CONNACK and are still open;
 *   failed   connections that never got a CONNACK (with -R: whose last
 *            allowed attempt failed too), by cause: open (this
 *            side: socket/bind/connect refused at once, e.g. EADDRNOTAVAIL,
 *            EMFILE), refused (RST to the SYN: nothing listening), reset
 *            (RST after the handshake), closed (FIN before the CONNACK:
 *            haproxy's answer when it cannot reach any server), timeout
 *            (SYN retries ran out), rejected (a CONNACK with a non-zero
 *            return code, or not a CONNACK), other;
 *   drops    connections that had their CONNACK and were later ended by
 *            the peer or the kernel: closed (FIN), reset (RST), timeout
 *            (retransmissions ran out), other. This tool never closes a
 *            connection itself before the end: a write that would block
 *            (EAGAIN, or a partial write) waits for EPOLLOUT.
 *
 * -R: reconnects, as real devices do (paho and the like retry a connect
 * that failed, with a growing backoff). A connection whose attempt fails
 * before its CONNACK, for any cause, is opened again after a backoff:
 * -B seconds (default 1) doubling per failed attempt up to 30 s, each
 * drawn from [half of it, all of it] so that a burst of failures does not
 * come back as one wave. At most MAX_ATTEMPTS connect attempts in all
 * (default 1: no retry); only a connection whose last attempt failed
 * counts in failed. Reported besides: failed_attempts (every failed
 * attempt, by cause; attempts_failed their sum), retried (connections
 * that needed more than one attempt and got their CONNACK), gave_up
 * (connections that retried and failed their last attempt: with -R > 1
 * equal to connect_failed, 0 without -R), retry_waiting (waiting for
 * their backoff now). A DROP is never reconnected: a connection that had
 * its CONNACK and was ended stays a drop, the number this tool exists
 * for. Retries share -r's schedule (attempt k, first or retry, starts no
 * earlier than k/r seconds after the start) and -P's in-flight cap.
 *
 * -L LINGER_S: after the final line, the connections stay open until
 * SIGUSR2 or LINGER_S seconds (default 0), and only then does the process
 * exit and close them: a benchmark reads the proxy's end-of-run counters
 * in between, without this tool's teardown in them.
 *
 * SIGUSR1 ends the hold early (a benchmark that holds the connections
 * while it does something else, for as long as that takes); the final
 * line follows as usual, with "hold_cut": true. Before the hold it is
 * remembered: the hold then ends as soon as it begins.
 *
 * -P caps the connections in flight (connect() to CONNACK): a slow target
 * (a proxy under TCG) then sets the pace, instead of the generator
 * overflowing its accept queue and losing connections to SYN retries that
 * run out, which would measure the generator, not the proxy.
 *
 * The ramp ends when every connection has its CONNACK or has failed, or
 * when nothing progressed (no connect(), CONNACK or failure) for -T
 * seconds: a proxy at its maxconn leaves the rest waiting in its accept
 * queue, the in-flight cap then stops the opening, and a benchmark must
 * still end (those never opened are reported as not_opened). A retry
 * scheduled for later is progress to come: the -T seconds count from the
 * latest scheduled retry too. The hold follows, -H seconds; nothing is
 * opened in it, retries neither (those left are reported as
 * retry_waiting). At the end: target = up + drops + connect_failed +
 * pending + not_opened + retry_waiting.
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
#include "mqtt-io.h"

/* C_RETRY: an attempt failed, the next one waits for its backoff (no fd) */
enum cstate { C_FREE, C_CONNECTING, C_WAIT_CONNACK, C_UP, C_RETRY };

enum fail { F_OPEN, F_REFUSED, F_RESET, F_CLOSED, F_TIMEOUT, F_REJECTED, F_OTHER, F_MAX };
static const char *const fail_name[F_MAX] = { "open", "refused", "reset", "closed", "timeout", "rejected", "other" };
enum dropc { D_CLOSED, D_RESET, D_TIMEOUT, D_OTHER, D_MAX };
static const char *const drop_name[D_MAX] = { "closed", "reset", "timeout", "other" };

/* a queued write larger than this is a peer that reads nothing: publishes
 * are skipped for it rather than buffered without bound */
#define OUT_MAX 65536

/* the longest backoff between two connect attempts of one connection */
#define BACKOFF_MAX_S 30.0

struct conn {
        int fd;
        uint8_t st;
        uint8_t inlen;
        uint8_t in[4];
        uint16_t attempts;      /* connect attempts made, this one included */
        uint32_t outlen;
        uint8_t *out;   /* bytes a write could not take yet; NULL when none */
        double next_ping, next_pub;
        double retry_at;        /* C_RETRY: when the next attempt may start */
};

static struct conn *conns;
static long n_target, n_up, n_pending, n_opened, n_connack, n_drops, n_pubs, n_pub_skipped;
static long n_failed[F_MAX], n_dropped[D_MAX], n_connect_fail;
static long n_pings, n_pong_bytes, n_ping_deferred, n_write_waits;
static long n_attempts, n_attempts_failed, n_failed_attempt[F_MAX], n_retried, n_gave_up, n_retry_wait, n_retry_opened;
static int open_errno, max_attempts = 1;
static double backoff_first = 1, last_progress, last_connack, retry_horizon, ping_lag_max, ping_lag_max_iv;
static int ep;
static volatile sig_atomic_t hold_cut, linger_cut;
static void on_usr1(int sig) { (void) sig; hold_cut = 1; }
static void on_usr2(int sig) { (void) sig; linger_cut = 1; }

/* connections waiting for their backoff: a min-heap on retry_at (each
 * connection is in it at most once, so n_target entries suffice) */
static long *retryq, retryq_len;

static bool retry_before(long a, long b) { return conns[a].retry_at < conns[b].retry_at; }

static void retryq_push(long i) {
        long k = retryq_len++;
        while (k > 0 && retry_before(i, retryq[(k - 1) / 2])) {
                retryq[k] = retryq[(k - 1) / 2];
                k = (k - 1) / 2;
        }
        retryq[k] = i;
}

static long retryq_pop(void) {
        long top = retryq[0], last = retryq[--retryq_len], k = 0;
        for (;;) {
                long c = 2 * k + 1;
                if (c >= retryq_len)
                        break;
                if (c + 1 < retryq_len && retry_before(retryq[c + 1], retryq[c]))
                        c++;
                if (!retry_before(retryq[c], last))
                        break;
                retryq[k] = retryq[c];
                k = c;
        }
        if (retryq_len > 0)
                retryq[k] = last;
        return top;
}

/* xorshift64*: the backoff's jitter needs spread, not secrecy; a fixed
 * seed makes one run's schedule the next one's */
static double rand01(void) {
        static uint64_t x = 0x9e3779b97f4a7c15u;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        return (double) ((x * 0x2545f4914f6cdd1du) >> 11) / 9007199254740992.0;
}

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* the client id's prefix (-I): two runs against one broker need their own,
 * or the second takes over the first's sessions (MQTT 3.1.1, 3.1.4-2) */
static const char *cid_prefix = "ld";

static int encode_connect(uint8_t *b, long id, int keepalive) {
        char cid[40];
        int cl = snprintf(cid, sizeof(cid), "%s%ld", cid_prefix, id);
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

static int sock_error(int fd) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                return errno;
        return err;
}

static void set_events(long i) {
        struct conn *c = &conns[i];
        uint32_t want = EPOLLIN | EPOLLRDHUP;
        if (c->st == C_CONNECTING || c->outlen > 0)
                want |= EPOLLOUT;
        struct epoll_event ev = { .events = want, .data.u64 = (uint64_t) i };
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Connection i's attempt failed (it has no fd now): it waits for its
 * backoff, or, at its last attempt, is counted as failed. */
static void attempt_failed(long i, enum fail cause, double t) {
        struct conn *c = &conns[i];
        n_attempts_failed++;
        n_failed_attempt[cause]++;
        last_progress = t;
        if (c->attempts < max_attempts) {
                double b = backoff_first;
                for (int k = 1; k < c->attempts && b < BACKOFF_MAX_S; k++)
                        b *= 2;
                if (b > BACKOFF_MAX_S)
                        b = BACKOFF_MAX_S;
                c->st = C_RETRY;
                c->retry_at = t + b / 2 + rand01() * b / 2;
                if (c->retry_at > retry_horizon)
                        retry_horizon = c->retry_at;
                retryq_push(i);
                n_retry_wait++;
                return;
        }
        c->st = C_FREE;
        n_connect_fail++;
        n_failed[cause]++;
        if (c->attempts > 1)
                n_gave_up++;
}

/* The end of connection i, as the peer or the kernel decided it: err 0 is
 * an orderly close (FIN), else the socket's errno; fail_as, when >= 0,
 * names the cause of a failure instead of err. */
static void end_conn(long i, int err, int fail_as) {
        struct conn *c = &conns[i];
        bool was_up = c->st == C_UP;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        free(c->out);
        *c = (struct conn) { .fd = -1, .st = C_FREE, .attempts = c->attempts };
        if (was_up) {
                /* a drop: never reconnected, whatever -R says */
                n_up--;
                n_drops++;
                n_dropped[err == 0 ? D_CLOSED : err == ECONNRESET || err == EPIPE ? D_RESET : err == ETIMEDOUT ? D_TIMEOUT : D_OTHER]++;
        } else {
                n_pending--;
                attempt_failed(i, fail_as >= 0 ? (enum fail) fail_as : err == 0 ? F_CLOSED : err == ECONNREFUSED ? F_REFUSED :
                               err == ECONNRESET || err == EPIPE ? F_RESET : err == ETIMEDOUT ? F_TIMEOUT : F_OTHER, now());
        }
}

static void finish(long i, int err) { end_conn(i, err, -1); }

/* Writes what is queued; returns 0 or a positive errno (the connection is dead). */
static int flush(long i) {
        struct conn *c = &conns[i];
        int err = write_queued(c->fd, c->out, &c->outlen);
        if (err || c->outlen > 0)
                return err;
        free(c->out);
        c->out = NULL;
        set_events(i);
        return 0;
}

/* Sends len bytes or queues what the socket cannot take now (EPOLLOUT
 * sends it later). Returns 0 or a positive errno. */
static int send_bytes(long i, const uint8_t *data, size_t len) {
        struct conn *c = &conns[i];
        size_t done = 0;
        if (c->outlen == 0) {
                for (;;) {
                        ssize_t w = write(c->fd, data, len);
                        if (w >= 0) {
                                done = (size_t) w;
                                break;
                        }
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                return errno;
                        break;
                }
                if (done == len)
                        return 0;
                n_write_waits++;
        }
        uint8_t *o = realloc(c->out, c->outlen + (len - done));
        if (!o)
                return ENOMEM;
        memcpy(o + c->outlen, data + done, len - done);
        c->out = o;
        c->outlen += (uint32_t) (len - done);
        set_events(i);
        return 0;
}

static int open_one(long i, const struct sockaddr_in *dst, struct in_addr *srcs, int nsrc) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0)
                return -errno;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (nsrc > 0) {
                struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr = srcs[i % nsrc] };
                /* the port is chosen at connect(), per destination: without
                 * this, bind() would reserve a port for every destination */
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
        conns[i].fd = fd;
        conns[i].st = C_CONNECTING;
        struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u64 = (uint64_t) i };
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        if (conns[i].attempts == 1)
                n_opened++;
        else
                n_retry_opened++;
        n_pending++;
        return 0;
}

/* Connect attempt of connection i (its first or a retry); a failure at
 * once (socket/bind/connect) is a failed attempt like any other. */
static void start_attempt(long i, double t, const struct sockaddr_in *dst, struct in_addr *srcs, int nsrc) {
        conns[i].attempts++;
        n_attempts++;
        last_progress = t;
        int r = open_one(i, dst, srcs, nsrc);
        if (r < 0) {
                open_errno = -r;
                attempt_failed(i, F_OPEN, t);
        }
}

/* Reads what there is; returns 1 while the connection lives, 0 after
 * finish() ended it. */
static int read_all(long i, double t, int keepalive, double pub_every) {
        struct conn *c = &conns[i];
        uint8_t b[512];
        for (;;) {
                ssize_t n = read(c->fd, b, sizeof(b));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 1;
                        finish(i, errno);
                        return 0;
                }
                if (n == 0) {
                        finish(i, 0);
                        return 0;
                }
                ssize_t off = 0;
                if (c->st == C_WAIT_CONNACK) {
                        while (off < n && c->inlen < 4)
                                c->in[c->inlen++] = b[off++];
                        if (c->inlen < 4)
                                continue;
                        if (c->in[0] != 0x20 || c->in[1] != 2 || c->in[3] != 0) {
                                end_conn(i, EPROTO, F_REJECTED);
                                return 0;
                        }
                        c->st = C_UP;
                        n_up++;
                        n_pending--;
                        n_connack++;
                        if (c->attempts > 1)
                                n_retried++;
                        last_progress = last_connack = t;
                        /* first pings spread over half a keepalive */
                        c->next_ping = t + keepalive / 2.0 + (i % 1000) / 1000.0 * keepalive / 2.0;
                        c->next_pub = pub_every > 0 ? t + (i % 1000) / 1000.0 * pub_every : 0;
                }
                /* the rest: PINGRESPs (0xd0 0x00), the only thing the sink sends */
                n_pong_bytes += n - off;
                if ((size_t) n < sizeof(b))
                        return 1;
        }
}

/* One epoll round: connects that completed send their CONNECT, queued
 * writes go out, reads are taken in. */
static void poll_once(int timeout_ms, int keepalive, double pub_every) {
        struct epoll_event evs[1024];
        int k = epoll_wait(ep, evs, 1024, timeout_ms);
        double t = now();
        for (int e = 0; e < k; e++) {
                long i = (long) evs[e].data.u64;
                struct conn *c = &conns[i];
                uint32_t ev = evs[e].events;
                if (c->st == C_FREE || c->st == C_RETRY)
                        continue;
                if (ev & EPOLLERR) {
                        int err = sock_error(c->fd);
                        finish(i, err ? err : EIO);
                        continue;
                }
                if (c->st == C_CONNECTING) {
                        if (!(ev & (EPOLLOUT | EPOLLHUP)))
                                continue;
                        int err = sock_error(c->fd);
                        if (err || (ev & EPOLLHUP)) {
                                finish(i, err);
                                continue;
                        }
                        uint8_t b[64];
                        int n = encode_connect(b, i, keepalive);
                        c->st = C_WAIT_CONNACK;
                        set_events(i);
                        err = send_bytes(i, b, (size_t) n);
                        if (err) {
                                finish(i, err);
                                continue;
                        }
                } else if ((ev & EPOLLOUT) && c->outlen > 0) {
                        int err = flush(i);
                        if (err) {
                                finish(i, err);
                                continue;
                        }
                }
                if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
                        read_all(i, t, keepalive, pub_every);
        }
}

static void publish(long i, double t, uint8_t *payload, int pub_size, double pub_every) {
        struct conn *c = &conns[i];
        char topic[32];
        int tl = snprintf(topic, sizeof(topic), "load/%ld", i);
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
        size_t len = hn + (size_t) tl + (size_t) pub_size;
        /* on schedule, catching up at most a second late */
        c->next_pub += pub_every;
        if (c->next_pub < t - 1)
                c->next_pub = t;
        if (c->outlen + len > OUT_MAX) {
                n_pub_skipped++;
                return;
        }
        int err = send_bytes(i, payload, len);
        if (err)
                finish(i, err);
        else
                n_pubs++;
}

static void print_classes(const char *key, const char *const *names, const long *v, int n) {
        printf(",\"%s\":{", key);
        for (int k = 0; k < n; k++)
                printf("%s\"%s\":%ld", k ? "," : "", names[k], v[k]);
        printf("}");
}

int main(int argc, char **argv) {
        const char *target = NULL, *srclist = NULL;
        long rate = 2000;
        int keepalive = 60, hold = 60, interval = 5, pub_size = 100, settle = 60, linger = 0, opt;
        double pub_every = 0;
        long max_pending = 0;
        while ((opt = getopt(argc, argv, "t:n:s:r:k:H:i:p:z:T:P:R:B:I:L:")) >= 0)
                switch (opt) {
                case 't': target = optarg; break;
                case 'n': n_target = atol(optarg); break;
                case 's': srclist = optarg; break;
                case 'r': rate = atol(optarg); break;
                case 'k': keepalive = atoi(optarg); break;
                case 'H': hold = atoi(optarg); break;
                case 'i': interval = atoi(optarg); break;
                case 'p': pub_every = atof(optarg); break;
                case 'z': pub_size = atoi(optarg); break;
                case 'T': settle = atoi(optarg); break;
                case 'P': max_pending = atol(optarg); break;
                case 'R': max_attempts = atoi(optarg); break;
                case 'B': backoff_first = atof(optarg); break;
                case 'L': linger = atoi(optarg); break;
                case 'I':
                        if (strlen(optarg) == 0 || strlen(optarg) > 16) {
                                fprintf(stderr, "mqtt-load: -I: a client id prefix of 1 to 16 characters\n");
                                return 2;
                        }
                        cid_prefix = optarg;
                        break;
                default:
                        fprintf(stderr, "usage: %s -t HOST:PORT -n N [-s SRC1,SRC2] [-r RATE/s] [-k KEEPALIVE] [-H HOLD_S] [-i REPORT_S] [-p PUB_EVERY_S -z BYTES] [-T SETTLE_S] [-P MAX_IN_FLIGHT] [-R MAX_ATTEMPTS] [-B FIRST_BACKOFF_S] [-I CLIENT_ID_PREFIX] [-L LINGER_S]\n", argv[0]);
                        return 2;
                }
        if (!target || n_target <= 0 || keepalive <= 0 || interval <= 0 || pub_size < 0 || pub_size > 60000 ||
            max_attempts < 1 || max_attempts > UINT16_MAX || !(backoff_first > 0)) {
                fprintf(stderr, "mqtt-load: -t and -n are required; -k, -i, -B > 0; -z <= 60000; 1 <= -R <= 65535\n");
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
        /* as many fds as connections, within the hard limit: past it,
         * socket() fails with EMFILE and the report says "open" */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                rlim_t want = (rlim_t) n_target + 64;
                struct rlimit nl = { want, want > rl.rlim_max ? want : rl.rlim_max };
                if (setrlimit(RLIMIT_NOFILE, &nl) < 0) {
                        nl.rlim_cur = rl.rlim_max;
                        nl.rlim_max = rl.rlim_max;
                        setrlimit(RLIMIT_NOFILE, &nl);
                        if ((rlim_t) n_target + 64 > rl.rlim_max)
                                fprintf(stderr, "mqtt-load: RLIMIT_NOFILE is %lu, below %ld connections\n", (unsigned long) rl.rlim_max, n_target);
                }
        }
        signal(SIGPIPE, SIG_IGN);
        signal(SIGUSR1, on_usr1);
        signal(SIGUSR2, on_usr2);
        conns = calloc((size_t) n_target, sizeof(*conns));
        uint8_t *payload = calloc(1, (size_t) pub_size + 64);
        retryq = calloc((size_t) n_target, sizeof(*retryq));
        ep = epoll_create1(EPOLL_CLOEXEC);
        if (!conns || !payload || !retryq || ep < 0) {
                fprintf(stderr, "mqtt-load: out of memory\n");
                return 1;
        }
        for (long i = 0; i < n_target; i++)
                conns[i].fd = -1;

        double t0 = now(), next_report = t0 + interval, next_scan = t0, full_at = 0, end = 0, ramp_last_connack = t0;
        long next_open = 0, peak = 0, up_at_hold = 0, connack_at_report = 0;
        bool stalled = false;
        last_progress = last_connack = t0;
        for (;;) {
                double t = now();
                /* open at the requested rate, never more than -P in flight;
                 * retries that are due first (they have waited longer) */
                long want = (long) ((t - t0) * rate);
                while (!full_at && n_attempts < want && (max_pending <= 0 || n_pending < max_pending)) {
                        if (retryq_len > 0 && conns[retryq[0]].retry_at <= t) {
                                n_retry_wait--;
                                start_attempt(retryq_pop(), t, &dst, srcs, nsrc);
                        } else if (next_open < n_target) {
                                start_attempt(next_open++, t, &dst, srcs, nsrc);
                        } else {
                                break;
                        }
                }
                poll_once(50, keepalive, pub_every);
                t = now();
                /* keepalive pings and optional publishes: a full scan a few
                 * times a second keeps every ping within 0.2 s of its time */
                if (t >= next_scan) {
                        next_scan = t + 0.2;
                        for (long i = 0; i < n_target; i++) {
                                struct conn *c = &conns[i];
                                if (c->st != C_UP)
                                        continue;
                                if (t >= c->next_ping) {
                                        double lag = t - c->next_ping;
                                        c->next_ping = t + keepalive / 2.0;
                                        if (c->outlen > 0) {
                                                /* the last write still waits: the
                                                 * peer reads nothing; no second ping */
                                                n_ping_deferred++;
                                        } else {
                                                static const uint8_t ping[2] = { 0xc0, 0x00 };
                                                int err = send_bytes(i, ping, 2);
                                                if (err) {
                                                        finish(i, err);
                                                        continue;
                                                }
                                                n_pings++;
                                                if (lag > ping_lag_max_iv)
                                                        ping_lag_max_iv = lag;
                                        }
                                }
                                while (c->st == C_UP && pub_every > 0 && t >= c->next_pub)
                                        publish(i, t, payload, pub_size, pub_every);
                        }
                }
                if (n_up > peak)
                        peak = n_up;
                if (!full_at && ((next_open >= n_target && n_pending == 0 && n_retry_wait == 0) ||
                                 (t >= last_progress + settle && t >= retry_horizon + settle))) {
                        stalled = n_pending > 0 || next_open < n_target || n_retry_wait > 0;
                        full_at = t;
                        ramp_last_connack = last_connack;
                        end = t + hold;
                        up_at_hold = n_up;
                }
                if (t >= next_report) {
                        double iv = t - next_report + interval;
                        printf("{\"t\":%.1f,\"target\":%ld,\"opened\":%ld,\"up\":%ld,\"pending\":%ld,\"peak\":%ld,\"connect_failed\":%ld,\"drops\":%ld,"
                               "\"connack_rate\":%.0f,\"pings\":%ld,\"pongs\":%ld,\"ping_lag_max_s\":%.2f,\"write_waits\":%ld,\"publishes\":%ld",
                               t - t0, n_target, n_opened, n_up, n_pending, peak, n_connect_fail, n_drops,
                               (n_connack - connack_at_report) / iv, n_pings, n_pong_bytes / 2, ping_lag_max_iv, n_write_waits, n_pubs);
                        print_classes("failed", fail_name, n_failed, F_MAX);
                        print_classes("dropped", drop_name, n_dropped, D_MAX);
                        printf(",\"retry_waiting\":%ld,\"retried\":%ld,\"gave_up\":%ld,\"attempts_failed\":%ld",
                               n_retry_wait, n_retried, n_gave_up, n_attempts_failed);
                        print_classes("failed_attempts", fail_name, n_failed_attempt, F_MAX);
                        printf("}\n");
                        fflush(stdout);
                        connack_at_report = n_connack;
                        if (ping_lag_max_iv > ping_lag_max)
                                ping_lag_max = ping_lag_max_iv;
                        ping_lag_max_iv = 0;
                        next_report = t + interval;
                }
                if (full_at && (t >= end || hold_cut))
                        break;
        }
        /* the answers to the last pings: up to 2 s, so that pongs == pings
         * says every ping came back */
        for (double dl = now() + 2; n_pong_bytes / 2 < n_pings && now() < dl;)
                poll_once(50, keepalive, pub_every);
        if (ping_lag_max_iv > ping_lag_max)
                ping_lag_max = ping_lag_max_iv;
        /* connect rate: CONNACKs per second from the start to the last one
         * before the hold (not to the settle timeout, which is idle time) */
        double ramp = ramp_last_connack - t0 > 0 ? ramp_last_connack - t0 : 1;
        printf("{\"final\":true,\"target\":%ld,\"up\":%ld,\"up_at_hold\":%ld,\"pending\":%ld,\"not_opened\":%ld,\"stalled\":%s,\"peak\":%ld,"
               "\"connect_failed\":%ld,\"drops\":%ld,\"publishes\":%ld,\"publishes_skipped\":%ld,\"ramp_s\":%.1f,\"hold_s\":%d,\"connect_rate\":%.0f,"
               "\"pings\":%ld,\"pongs\":%ld,\"pings_deferred\":%ld,\"ping_lag_max_s\":%.2f,\"write_waits\":%ld,\"open_error\":\"%s\",\"hold_cut\":%s",
               n_target, n_up, up_at_hold, n_pending, n_target - next_open, stalled ? "true" : "false", peak,
               n_connect_fail, n_drops, n_pubs, n_pub_skipped, ramp, hold, (double) up_at_hold / ramp,
               n_pings, n_pong_bytes / 2, n_ping_deferred, ping_lag_max, n_write_waits, open_errno ? strerrorname_np(open_errno) : "",
               hold_cut ? "true" : "false");
        print_classes("failed", fail_name, n_failed, F_MAX);
        print_classes("dropped", drop_name, n_dropped, D_MAX);
        printf(",\"max_attempts\":%d,\"backoff_first_s\":%.2f,\"attempts\":%ld,\"retry_opened\":%ld,\"retry_waiting\":%ld,"
               "\"retried\":%ld,\"gave_up\":%ld,\"attempts_failed\":%ld",
               max_attempts, backoff_first, n_attempts, n_retry_opened, n_retry_wait, n_retried, n_gave_up, n_attempts_failed);
        print_classes("failed_attempts", fail_name, n_failed_attempt, F_MAX);
        printf("}\n");
        fflush(stdout);
        /* -L: the connections stay open after the final line until SIGUSR2
         * (or L seconds), so that whoever reads the proxy's counters at
         * the end of the hold does not count this tool's own teardown */
        for (double dl = now() + linger; !linger_cut && now() < dl;)
                poll_once(50, keepalive, pub_every);
        return 0;
}
