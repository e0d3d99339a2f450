/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "shared/http.h"
#include "shared/libload.h"

#define HTTP_BODY_MAX (16u << 20)

/* libcurl 7.58 (Ubuntu 18.04, the bionic profile) predates two things this
 * module uses from newer releases: TLS material held in memory
 * (CURLOPT_SSLCERT_BLOB/SSLKEY_BLOB 7.71, CURLOPT_CAINFO_BLOB 7.77) and
 * protocol lists as strings (CURLOPT_PROTOCOLS_STR 7.85; newer curl
 * deprecates the bitmask before it). With an older curl the PEMs go to
 * OpenSSL from CURLOPT_SSL_CTX_FUNCTION (curl's OpenSSL backend has had it
 * since 7.10.6), so the key still never touches a file, and the protocols
 * become CURLPROTO_* bits. NODEOS_CURL_COMPAT selects these paths on a newer
 * curl too, so they run on the build machine (tests/image/agent-chroot.sh). */
#if LIBCURL_VERSION_NUM < 0x074d00 || defined(NODEOS_CURL_COMPAT)
#define HTTP_TLS_VIA_SSL_CTX 1
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#endif
#if LIBCURL_VERSION_NUM < 0x075500 || defined(NODEOS_CURL_COMPAT)
#define HTTP_PROTOCOL_BITS 1
#endif

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct http_body *b = userdata;
        size_t n = size * nmemb;
        if (b->len + n > HTTP_BODY_MAX) {
                b->too_big = true;
                return 0;
        }
        char *d = realloc(b->data, b->len + n + 1);
        if (!d)
                return 0;
        memcpy(d + b->len, ptr, n);
        b->data = d;
        b->len += n;
        b->data[b->len] = 0;
        return n;
}

static void sleep_ms(int ms) {
        struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int http_handle_new(CURL **ret, char **error) {
        int r = libload_curl(error);
        if (r < 0)
                return r;
        *ret = sym_curl_easy_init();
        return *ret ? 0 : -ENOMEM;
}

#if HTTP_TLS_VIA_SSL_CTX
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)

/* The certificates of a PEM text in order: the first to first(), the rest to
 * rest(); false when there is none or one fails. */
static bool pem_certs(SSL_CTX *ctx, const char *pem, int (*first)(SSL_CTX *, X509 *), int (*rest)(SSL_CTX *, X509 *)) {
        _cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(pem, -1);
        size_t n = 0;
        for (;;) {
                _cleanup_(X509_freep) X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
                if (!x)
                        break;
                if (!(n++ == 0 ? first : rest)(ctx, x))
                        return false;
        }
        /* the read past the last certificate leaves "no start line" queued */
        ERR_clear_error();
        return n > 0;
}

static int add_ca(SSL_CTX *ctx, X509 *x) { return X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x); }
/* SSL_CTX_add1_chain_cert is a macro: these need a function */
static int add_chain(SSL_CTX *ctx, X509 *x) { return (int) SSL_CTX_add1_chain_cert(ctx, x); }

/* What CURLOPT_*_BLOB would do, done to the connection's SSL_CTX before the
 * handshake. The CA goes into a store curl left empty (http_handle_setup
 * unsets CURLOPT_CAINFO), so it is the only one trusted, as with the blob. */
static CURLcode on_ssl_ctx(CURL *c, void *ssl_ctx, void *userdata) {
        const struct http_options *o = userdata;
        SSL_CTX *ctx = ssl_ctx;
        (void) c;
        if (o->ca_pem && !pem_certs(ctx, o->ca_pem, add_ca, add_ca))
                return CURLE_SSL_CACERT_BADFILE;
        if (o->cert_pem && !pem_certs(ctx, o->cert_pem, SSL_CTX_use_certificate, add_chain))
                return CURLE_SSL_CERTPROBLEM;
        if (o->key_pem) {
                _cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(o->key_pem, -1);
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
                if (!k || !SSL_CTX_use_PrivateKey(ctx, k) || (o->cert_pem && !SSL_CTX_check_private_key(ctx)))
                        return CURLE_SSL_CERTPROBLEM;
        }
        return CURLE_OK;
}
#endif

int http_handle_setup(CURL *c, const char *url, const struct http_options *o, struct http_body *b, char *errbuf) {
        sym_curl_easy_setopt(c, CURLOPT_URL, url);
        sym_curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long) o->timeout_ms);
        sym_curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) o->timeout_ms);
        sym_curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        sym_curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        sym_curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
        sym_curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        sym_curl_easy_setopt(c, CURLOPT_USERAGENT, "node-agent/" NODE_AGENT_VERSION);
        if (o->ca_file)
                sym_curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
#if HTTP_TLS_VIA_SSL_CTX
        if (o->ca_pem || o->cert_pem || o->key_pem) {
                if (o->ca_pem) {
                        /* nothing from the system store: on_ssl_ctx adds the one CA */
                        sym_curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
                        sym_curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
#if LIBCURL_VERSION_NUM >= 0x075700
                        /* 7.87's CA store cache would hand this store to other connections */
                        sym_curl_easy_setopt(c, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
                }
                /* o lives until curl_easy_perform returns (both callers) */
                sym_curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, (void *) o);
                if (sym_curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) != CURLE_OK) {
                        snprintf(errbuf, CURL_ERROR_SIZE, "libcurl %s cannot take TLS material from memory (needs 7.77, or the OpenSSL backend)",
                                 sym_curl_version_info(CURLVERSION_NOW)->version);
                        return -EPROTONOSUPPORT;
                }
        }
#else
        if (o->ca_pem) {
                struct curl_blob ca = { (void *) o->ca_pem, strlen(o->ca_pem), CURL_BLOB_COPY };
                sym_curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
        }
        if (o->cert_pem) {
                struct curl_blob cert = { (void *) o->cert_pem, strlen(o->cert_pem), CURL_BLOB_COPY };
                sym_curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
                sym_curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
        }
        if (o->key_pem) {
                struct curl_blob key = { (void *) o->key_pem, strlen(o->key_pem), CURL_BLOB_COPY };
                sym_curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
                sym_curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
        }
#endif
        if (o->pinned_pubkey) {
                /* curl checks the pin whether or not it verifies the chain
                 * (CURLOPT_PINNEDPUBLICKEY(3)); a pinned key is a stronger
                 * statement than any CA, so a self-signed seed server works */
                if (sym_curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, o->pinned_pubkey) != CURLE_OK) {
                        snprintf(errbuf, CURL_ERROR_SIZE, "libcurl %s cannot pin a public key with its TLS backend",
                                 sym_curl_version_info(CURLVERSION_NOW)->version);
                        return -EPROTONOSUPPORT;
                }
                sym_curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                sym_curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (o->insecure) {
                sym_curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                sym_curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        return 0;
}

void http_handle_protocols(CURL *c, const char *protocols, const char *redir_protocols) {
#if HTTP_PROTOCOL_BITS
        static const struct { const char *name; long bit; } table[] = {
                { "file", CURLPROTO_FILE }, { "http", CURLPROTO_HTTP }, { "https", CURLPROTO_HTTPS },
        };
        const char *lists[2] = { protocols, redir_protocols };
        long bits[2] = { 0, 0 };
        for (size_t l = 0; l < 2; l++)
                for (const char *p = lists[l]; p && *p;) {
                        size_t n = strcspn(p, ",");
                        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                                if (strlen(table[i].name) == n && strncmp(p, table[i].name, n) == 0)
                                        bits[l] |= table[i].bit;
                        p += n + (p[n] == ',');
                }
        sym_curl_easy_setopt(c, CURLOPT_PROTOCOLS, bits[0]);
        if (redir_protocols)
                sym_curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, bits[1]);
#else
        sym_curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
        if (redir_protocols)
                sym_curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, redir_protocols);
#endif
}

/* A failed transfer as -errno, and whether another attempt may help. */
static int curl_errno(CURLcode cc, bool *retry) {
        *retry = false;
        switch (cc) {
        case CURLE_COULDNT_CONNECT: *retry = true; return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT: *retry = true; return -ETIMEDOUT;
        case CURLE_COULDNT_RESOLVE_HOST: *retry = true; return -EHOSTUNREACH;
        case CURLE_FILE_COULDNT_READ_FILE: return -ENOENT;
        case CURLE_UNSUPPORTED_PROTOCOL: return -EPROTONOSUPPORT;
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH: return -EACCES;
        case CURLE_PARTIAL_FILE: *retry = true; return -EPIPE;
        case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_GOT_NOTHING: *retry = true; return -EIO;
        default: return -EIO;
        }
}

/* An HTTP status that is not success as -errno, "HTTP <status>" in *error,
 * and whether another attempt may help: 4xx is final but 408 and 429. */
static int status_errno(long status, bool *retry, char **error) {
        if (asprintf(error, "HTTP %ld", status) < 0)
                *error = NULL;
        *retry = status >= 500 || status == 408 || status == 429;
        return status == 404 ? -ENOENT : status == 401 || status == 403 ? -EACCES : -EIO;
}

/* Why a request was not followed to where the server redirected it, into
 * errbuf; nothing when it was no such redirect. */
static void explain_refused_redirect(CURL *c, CURLcode cc, long status, const char *url, char *errbuf) {
        if (cc != CURLE_UNSUPPORTED_PROTOCOL || status < 300 || status >= 400)
                return;
        char *to = NULL;
        sym_curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &to);
        snprintf(errbuf, CURL_ERROR_SIZE, "HTTP %ld redirects to %s, refused: %s", status, to ? to : "another protocol",
                 strncasecmp(url, "https:", 6) == 0 ? "an https URL is only followed to https" : "not an http or https URL");
}

/* What every request of this module may follow: what came over TLS is
 * never fetched again in the clear, so an https URL redirects to https only. */
static void allow_redirects(CURL *c, const char *url) {
        http_handle_protocols(c, "file,http,https", strncasecmp(url, "https:", 6) == 0 ? "https" : "http,https");
        sym_curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        sym_curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
}

/* One attempt: 0, or -errno; *retry says whether another attempt may help. */
static int attempt(const char *url, const struct http_options *o, struct http_body *b, bool *retry, char **error) {
        char errbuf[CURL_ERROR_SIZE] = "";
        long status = 0;
        CURL *c;
        *retry = false;
        free(*error);
        *error = NULL;
        /* a libcurl that cannot be loaded is final: *error says why */
        int r = http_handle_new(&c, error);
        if (r < 0)
                return r;
        r = http_handle_setup(c, url, o, b, errbuf);
        if (r < 0) {
                sym_curl_easy_cleanup(c);
                *error = strdup(errbuf);
                return r;
        }
        allow_redirects(c, url);
        CURLcode cc = sym_curl_easy_perform(c);
        sym_curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        explain_refused_redirect(c, cc, status, url, errbuf);
        sym_curl_easy_cleanup(c);

        if (b->too_big) {
                r = -EFBIG;
                *error = strdup("response larger than 16 MiB");
        } else if (cc != CURLE_OK) {
                r = curl_errno(cc, retry);
                *error = strdup(errbuf[0] ? errbuf : sym_curl_easy_strerror(cc));
        } else if (status >= 400 || (status != 0 && status < 200))
                r = status_errno(status, retry, error);
        return r;
}

int http_get(const char *url, const struct http_options *o, char **ret, size_t *len, char **error) {
        _cleanup_free_ char *err = NULL;
        int delay = o->backoff_ms > 0 ? o->backoff_ms : 500, r = -EIO;
        for (int i = 0; i < (o->attempts > 0 ? o->attempts : 1); i++) {
                struct http_body b = {};
                bool retry = false;
                if (i > 0) {
                        log_debug("GET %s: attempt %d after %d ms (%s)", url, i + 1, delay, err ? err : "");
                        sleep_ms(delay);
                        delay *= 2;
                }
                r = attempt(url, o, &b, &retry, &err);
                if (r >= 0) {
                        if (!b.data && !(b.data = strdup("")))
                                return -ENOMEM;
                        *ret = b.data;
                        if (len)
                                *len = b.len;
                        return 0;
                }
                free(b.data);
                if (!retry)
                        break;
        }
        if (error)
                *error = TAKE_PTR(err);
        return r;
}

/* A download in progress: where its bytes go and how far it got. */
struct download {
        CURL *curl;
        int fd;
        uint64_t offset;        /* in the file when this attempt began */
        uint64_t done;          /* in the file now */
        uint64_t total;         /* the whole size, 0 while unknown */
        bool answered;          /* this attempt's first body bytes seen */
        int write_errno;        /* why writing the file failed, 0 if it did not */
        http_progress_fn progress;
        void *userdata;
};

/* Before the first body byte of an attempt: a server that ignored the
 * Range request sends the whole file, which then starts again at 0. */
static int download_begin(struct download *d) {
        long status = 0;
        curl_off_t length = -1;
        d->answered = true;
        sym_curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
        sym_curl_easy_getinfo(d->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        if (d->offset > 0 && status == 200) {
                log_debug("download: the server ignored the range request, starting again at 0");
                if (ftruncate(d->fd, 0) < 0 || lseek(d->fd, 0, SEEK_SET) < 0)
                        return -errno;
                d->offset = d->done = 0;
        }
        if (length >= 0)
                d->total = d->offset + (uint64_t) length;
        return 0;
}

static size_t on_download_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct download *d = userdata;
        size_t n = size * nmemb;
        int r = d->answered ? 0 : download_begin(d);
        if (r >= 0)
                r = loop_write(d->fd, ptr, n);
        if (r < 0) {
                d->write_errno = -r;
                return 0;
        }
        d->done += n;
        if (d->progress)
                d->progress(d->done, d->total, d->userdata);
        return n;
}

/* One attempt from d->done on: 0 when complete, or -errno; *retry as
 * attempt()'s. */
static int download_attempt(const char *url, const struct http_options *o, struct download *d, bool *retry, char **error) {
        char errbuf[CURL_ERROR_SIZE] = "";
        struct http_body unused = {};
        long status = 0;
        *retry = false;
        free(*error);
        *error = NULL;
        int r = http_handle_new(&d->curl, error);
        if (r < 0)
                return r;
        r = http_handle_setup(d->curl, url, o, &unused, errbuf);
        if (r < 0) {
                sym_curl_easy_cleanup(d->curl);
                *error = strdup(errbuf);
                return r;
        }
        allow_redirects(d->curl, url);
        d->offset = d->done;
        d->answered = false;
        /* a stall ends an attempt, a long transfer does not */
        long stall_s = o->timeout_ms >= 2000 ? o->timeout_ms / 1000 : 1;
        sym_curl_easy_setopt(d->curl, CURLOPT_TIMEOUT_MS, 0L);
        sym_curl_easy_setopt(d->curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        sym_curl_easy_setopt(d->curl, CURLOPT_LOW_SPEED_TIME, stall_s);
        sym_curl_easy_setopt(d->curl, CURLOPT_FAILONERROR, 1L);
        sym_curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, on_download_data);
        sym_curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, d);
        /* CURLOPT_RANGE, not CURLOPT_RESUME_FROM: with the latter curl
         * fails a 200 answer instead of letting download_begin start over */
        char range[32];
        snprintf(range, sizeof(range), "%llu-", (unsigned long long) d->offset);
        sym_curl_easy_setopt(d->curl, CURLOPT_RANGE, d->offset > 0 ? range : NULL);
        CURLcode cc = sym_curl_easy_perform(d->curl);
        sym_curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
        explain_refused_redirect(d->curl, cc, status, url, errbuf);
        sym_curl_easy_cleanup(d->curl);
        d->curl = NULL;

        if (d->write_errno) {
                r = -d->write_errno;
                *error = strdup(strerror(d->write_errno));
        } else if (d->offset > 0 && ((cc == CURLE_HTTP_RETURNED_ERROR && status == 416) || cc == CURLE_BAD_DOWNLOAD_RESUME)) {
                /* nothing is left past what the file holds */
                d->total = d->done;
                r = 0;
        } else if (cc == CURLE_HTTP_RETURNED_ERROR)
                r = status_errno(status, retry, error);
        else if (cc != CURLE_OK) {
                r = curl_errno(cc, retry);
                *error = strdup(errbuf[0] ? errbuf : sym_curl_easy_strerror(cc));
        } else if (d->total > 0 && d->done < d->total) {
                r = -EPIPE;
                *retry = true;
        }
        return r;
}

int http_download(const char *url, const struct http_options *o, int fd, http_progress_fn progress, void *userdata,
                  char **error) {
        _cleanup_free_ char *err = NULL;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (lseek(fd, 0, SEEK_END) < 0)
                return -errno;
        struct download d = { .fd = fd, .done = (uint64_t) st.st_size, .progress = progress, .userdata = userdata };
        int attempts = o->attempts > 0 ? o->attempts : 1, delay = o->backoff_ms > 0 ? o->backoff_ms : 500, r = -EIO;
        for (int fruitless = 0; fruitless < attempts;) {
                uint64_t before = d.done;
                bool retry = false;
                r = download_attempt(url, o, &d, &retry, &err);
                if (r >= 0 || !retry)
                        break;
                if (d.done > before) {
                        /* got further: the next try starts afresh */
                        fruitless = 0;
                        delay = o->backoff_ms > 0 ? o->backoff_ms : 500;
                } else if (++fruitless >= attempts)
                        break;
                log_debug("GET %s: resuming at byte %llu in %d ms (%s)", url, (unsigned long long) d.done, delay, err ? err : "");
                sleep_ms(delay);
                if (d.done == before)
                        delay *= 2;
        }
        if (r == -EPIPE) {
                _cleanup_free_ char *why = TAKE_PTR(err);
                if (asprintf(&err, "the transfer stopped at byte %llu of %llu%s%s%s", (unsigned long long) d.done,
                             (unsigned long long) d.total, why ? " (" : "", why ? why : "", why ? ")" : "") < 0)
                        err = NULL;
        }
        if (error)
                *error = TAKE_PTR(err);
        return r;
}
