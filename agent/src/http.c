/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include "http.h"
#include "log.h"
#include "macro.h"

#define HTTP_BODY_MAX (16u << 20)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

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

CURL *http_handle_new(void) {
        pthread_once(&curl_once, curl_init_once);
        return curl_easy_init();
}

void http_handle_setup(CURL *c, const char *url, const struct http_options *o, struct http_body *b, char *errbuf) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long) o->timeout_ms);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) o->timeout_ms);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "node-agent/" NODE_AGENT_VERSION);
        if (o->ca_file)
                curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
        if (o->ca_pem) {
                struct curl_blob ca = { (void *) o->ca_pem, strlen(o->ca_pem), CURL_BLOB_COPY };
                curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
        }
        if (o->cert_pem) {
                struct curl_blob cert = { (void *) o->cert_pem, strlen(o->cert_pem), CURL_BLOB_COPY };
                curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
                curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
        }
        if (o->key_pem) {
                struct curl_blob key = { (void *) o->key_pem, strlen(o->key_pem), CURL_BLOB_COPY };
                curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
                curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
        }
        if (o->insecure) {
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
}

/* One attempt: 0, or -errno; *retry says whether another attempt may help. */
static int attempt(const char *url, const struct http_options *o, struct http_body *b, bool *retry, char **error) {
        CURL *c = http_handle_new();
        char errbuf[CURL_ERROR_SIZE] = "";
        long status = 0;
        if (!c)
                return -ENOMEM;
        http_handle_setup(c, url, o, b, errbuf);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "file,http,https");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
        CURLcode cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);

        int r = 0;
        *retry = false;
        free(*error);
        *error = NULL;
        if (b->too_big) {
                r = -EFBIG;
                *error = strdup("response larger than 16 MiB");
        } else if (cc != CURLE_OK) {
                switch (cc) {
                case CURLE_COULDNT_CONNECT: r = -ECONNREFUSED; *retry = true; break;
                case CURLE_OPERATION_TIMEDOUT: r = -ETIMEDOUT; *retry = true; break;
                case CURLE_COULDNT_RESOLVE_HOST: r = -EHOSTUNREACH; *retry = true; break;
                case CURLE_FILE_COULDNT_READ_FILE: r = -ENOENT; break;
                case CURLE_UNSUPPORTED_PROTOCOL: r = -EPROTONOSUPPORT; break;
                case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_GOT_NOTHING: r = -EIO; *retry = true; break;
                default: r = -EIO; break;
                }
                *error = strdup(errbuf[0] ? errbuf : curl_easy_strerror(cc));
        } else if (status >= 400 || (status != 0 && status < 200)) {
                if (asprintf(error, "HTTP %ld", status) < 0)
                        *error = NULL;
                r = status == 404 ? -ENOENT : status == 401 || status == 403 ? -EACCES : -EIO;
                *retry = status >= 500 || status == 408 || status == 429;
        }
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
