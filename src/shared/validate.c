/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <time.h>
#include "basic/macro.h"
#include "shared/validate.h"

bool ip_address_is_valid(const char *s) {
        unsigned char b[16];
        return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* "addr/prefix"; network=true also requires the host bits to be zero. */
const char *cidr_problem(const char *s, bool network) {
        unsigned char b[16];
        const char *slash = strchr(s, '/');
        if (!slash)
                return "missing /prefix";
        char addr[64];
        size_t l = (size_t) (slash - s);
        if (l == 0 || l >= sizeof(addr))
                return "bad address";
        memcpy(addr, s, l);
        addr[l] = 0;
        int fam = inet_pton(AF_INET, addr, b) == 1 ? AF_INET : inet_pton(AF_INET6, addr, b) == 1 ? AF_INET6 : 0;
        if (!fam)
                return "bad address";
        /* digits only: strtol() would also take " 8", "+8" and "-0" */
        size_t nd = strspn(slash + 1, "0123456789");
        long p = nd > 0 && nd <= 3 && slash[1 + nd] == 0 ? strtol(slash + 1, NULL, 10) : -1;
        int max = fam == AF_INET ? 32 : 128;
        if (p < 0 || p > max)
                return fam == AF_INET ? "prefix must be 0..32" : "prefix must be 0..128";
        if (network)
                for (int bit = (int) p; bit < max; bit++)
                        if (b[bit / 8] & (0x80 >> (bit % 8)))
                                return "host bits set (not a network address)";
        return NULL;
}

bool hostname_is_valid(const char *s) {
        size_t len = strlen(s), label = 0;
        if (len == 0 || len > 253 || ip_address_is_valid(s))
                return false;
        for (size_t i = 0; i <= len; i++) {
                char c = s[i];
                if (c == '.' || c == 0) {
                        if (label == 0 || label > 63 || s[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!(islower((unsigned char) c) || isdigit((unsigned char) c) || c == '-') || (label == 0 && c == '-'))
                        return false;
                label++;
        }
        return true;
}

bool bootstrap_token_is_valid(const char *s) {
        if (!s || strlen(s) != 23 || s[6] != '.')
                return false;
        for (size_t i = 0; i < 23; i++)
                if (i != 6 && !(islower((unsigned char) s[i]) || isdigit((unsigned char) s[i])))
                        return false;
        return true;
}

bool ca_cert_hash_is_valid(const char *s) {
        if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
                return false;
        return strspn(s + 7, "0123456789abcdef") == 64;
}

const char *endpoint_problem(const char *s) {
        const char *colon;
        char host[256];
        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || close[1] != ':')
                        return "want [IPv6]:port";
                size_t l = (size_t) (close - s - 1);
                if (l >= sizeof(host))
                        return "host too long";
                memcpy(host, s + 1, l);
                host[l] = 0;
                unsigned char b[16];
                if (inet_pton(AF_INET6, host, b) != 1)
                        return "bad IPv6 address";
                colon = close + 1;
        } else {
                colon = strrchr(s, ':');
                if (!colon)
                        return "want host:port";
                size_t l = (size_t) (colon - s);
                if (l == 0 || l >= sizeof(host))
                        return "want host:port";
                memcpy(host, s, l);
                host[l] = 0;
                /* "fd00::10:6443" is ambiguous; kubeadm wants [fd00::10]:6443 */
                if (strchr(host, ':'))
                        return "an IPv6 address needs brackets: [IPv6]:port";
                if (!ip_address_is_valid(host) && !hostname_is_valid(host))
                        return "bad host";
        }
        size_t nd = strspn(colon + 1, "0123456789");
        long port = nd > 0 && nd <= 5 && colon[1 + nd] == 0 ? strtol(colon + 1, NULL, 10) : 0;
        if (port < 1 || port > 65535)
                return "port must be 1..65535";
        return NULL;
}

static int digits(const char *s, size_t n) {
        int v = 0;
        for (size_t i = 0; i < n; i++)
                v = v * 10 + (s[i] - '0');
        return v;
}

/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" -> unix seconds.
 * Written out by hand: strptime() skips blanks inside numbers and takes
 * 2026-02-31, and kubeadm would reject what we let through. Returns NULL or
 * why the text is not a time. */
const char *rfc3339_problem(const char *s, int64_t *ret) {
        static const char pattern[] = "dddd-dd-ddTdd:dd:dd";
        for (size_t i = 0; i < sizeof(pattern) - 1; i++)
                if (pattern[i] == 'd' ? !isdigit((unsigned char) s[i]) : s[i] != pattern[i])
                        return "is not an RFC 3339 time like 2026-11-25T12:00:00Z";
        const char *end = s + sizeof(pattern) - 1;
        if (*end == '.' && isdigit((unsigned char) end[1]))
                for (end++; isdigit((unsigned char) *end); end++)
                        ;
        long off;
        if (*end == 'Z' && end[1] == 0)
                off = 0;
        else if ((*end == '+' || *end == '-') && strlen(end) == 6 && end[3] == ':' && isdigit((unsigned char) end[1]) &&
                 isdigit((unsigned char) end[2]) && isdigit((unsigned char) end[4]) && isdigit((unsigned char) end[5]) &&
                 digits(end + 1, 2) <= 23 && digits(end + 4, 2) <= 59)
                off = (*end == '-' ? -1 : 1) * (digits(end + 1, 2) * 3600L + digits(end + 4, 2) * 60L);
        else
                return "is not an RFC 3339 time like 2026-11-25T12:00:00Z";
        struct tm want = {
                .tm_year = digits(s, 4) - 1900, .tm_mon = digits(s + 5, 2) - 1, .tm_mday = digits(s + 8, 2),
                .tm_hour = digits(s + 11, 2), .tm_min = digits(s + 14, 2), .tm_sec = digits(s + 17, 2),
        }, tm = want;
        int64_t t = (int64_t) timegm(&tm);
        /* timegm() normalizes Feb 31 to Mar 3: a changed field means no such time */
        if (tm.tm_year != want.tm_year || tm.tm_mon != want.tm_mon || tm.tm_mday != want.tm_mday ||
            tm.tm_hour != want.tm_hour || tm.tm_min != want.tm_min || tm.tm_sec != want.tm_sec)
                return "is not a calendar date and time";
        if (t - off <= 0)
                return "is not after 1970-01-01T00:00:00Z";
        *ret = t - off;
        return NULL;
}

bool ssh_public_key_is_valid(const char *s) {
        static const char * const types[] = { "ssh-ed25519 ", "ssh-rsa ", "ecdsa-sha2-nistp256 ", "ecdsa-sha2-nistp384 ",
                                              "ecdsa-sha2-nistp521 ", "sk-ssh-ed25519@openssh.com ",
                                              "sk-ecdsa-sha2-nistp256@openssh.com " };
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (strncmp(s, types[i], strlen(types[i])) == 0 && s[strlen(types[i])] != 0 && !strchr(s, '\n'))
                        return true;
        return false;
}


static bool is_lower_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c) {
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* n bytes of s as one DNS-1123 label */
static bool dns_label_n(const char *s, size_t n) {
        if (n == 0 || n > 63 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_lower_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

bool dns1123_label_is_valid(const char *s) {
        return dns_label_n(s, strlen(s));
}

bool dns1123_subdomain_is_valid(const char *s) {
        size_t len = strlen(s);
        if (len == 0 || len > 253)
                return false;
        for (const char *p = s;;) {
                size_t n = strcspn(p, ".");
                if (!dns_label_n(p, n))
                        return false;
                if (!p[n])
                        return true;
                p += n + 1;
        }
}

bool label_value_is_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0)
                return true;
        if (n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && !strchr("._-", s[i]))
                        return false;
        return true;
}

bool image_tag_is_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 128 || !(is_alnum(s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}
