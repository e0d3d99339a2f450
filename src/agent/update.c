/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "agent/update.h"
#include "basic/chase.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "shared/libload.h"
#include "shared/pki.h"

#define MANIFEST_MAX (64u << 10)
#define SIG_MAX 256u

static const char *archive_why(struct archive *a, const char *otherwise) {
        const char *s = sym_archive_error_string(a);
        return s ? s : otherwise;
}

/* The node's trusted keys: every ROOT/UPDATE_KEYS_DIR/ *.pub, one base64 key each. */
static int read_keys(const char *root, char ***ret) {
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_strv_free_ char **keys = NULL;
        int r = chase(root, UPDATE_KEYS_DIR, 0, 0, &dfd, NULL);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        DIR *d = fdopendir(dfd);
        if (!d)
                return -errno;
        dfd = -EBADF;   /* d owns it */
        for (struct dirent *e; (e = readdir(d));) {
                size_t l = strlen(e->d_name);
                if (l < 5 || !STREQ(e->d_name + l - 4, ".pub"))
                        continue;
                _cleanup_free_ char *path = NULL, *text = NULL;
                if (asprintf(&path, "%s/%s", UPDATE_KEYS_DIR, e->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (read_file_in_root(root, path, &text, NULL) < 0)
                        continue;
                text[strcspn(text, " \t\r\n")] = 0;
                if (*text && (r = strv_extend(&keys, text)) < 0)
                        break;
        }
        closedir(d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(keys);
        return 0;
}

static int read_small(const char *root, const char *path, char **ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_file_in_root(root, path, &text, NULL);
        if (r < 0)
                return r;
        text[strcspn(text, " \t\r\n")] = 0;
        *ret = TAKE_PTR(text);
        return 0;
}

/* The manifest and its signature, the archive's first two members. */
static int read_member(struct archive *a, const char *want, size_t max, char **ret, size_t *len, char **error) {
        struct archive_entry *e;
        if (sym_archive_read_next_header(a, &e) != ARCHIVE_OK)
                return errorf(error, -EBADMSG, "not a bundle: no %s (%s)", want, archive_why(a, "empty archive"));
        const char *name = sym_archive_entry_pathname(e);
        if (!name || !STREQ(name, want))
                return errorf(error, -EBADMSG, "not a bundle: member '%s' where %s must be", name ? name : "", want);
        la_int64_t size = sym_archive_entry_size(e);
        if (size <= 0 || (uint64_t) size > max)
                return errorf(error, -EBADMSG, "%s: %lld bytes (at most %zu)", want, (long long) size, max);
        _cleanup_free_ char *buf = malloc((size_t) size + 1);
        if (!buf)
                return -ENOMEM;
        if (sym_archive_read_data(a, buf, (size_t) size) != size)
                return errorf(error, -EBADMSG, "%s: truncated", want);
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        *len = (size_t) size;
        return 0;
}

static int check_signature(const char *root, const char *manifest, size_t len, const char *sig, char **error) {
        _cleanup_strv_free_ char **keys = NULL;
        int r = read_keys(root, &keys);
        if (r < 0)
                return errorf(error, r, "cannot read the trusted keys in %s: %s", UPDATE_KEYS_DIR, strerror(-r));
        if (!keys)
                return errorf(error, -EKEYREJECTED, "no trusted update key in %s: this image takes no bundles", UPDATE_KEYS_DIR);
        _cleanup_free_ char *s = strdup(sig);
        if (!s)
                return -ENOMEM;
        s[strcspn(s, " \t\r\n")] = 0;
        STRV_FOREACH(k, keys)
                if (pki_verify(*k, manifest, len, s) == 0)
                        return 0;
        return errorf(error, -EKEYREJECTED, "manifest.json.sig does not verify with any trusted key in %s (%zu keys): "
                                          "not signed by this fleet's update key, or changed since",
                    UPDATE_KEYS_DIR, strv_length(keys));
}

static int check_policy(const char *root, const struct update_manifest *m, time_t now, char **error) {
        _cleanup_free_ char *role = NULL, *counter = NULL;
        int r = read_small(root, UPDATE_ROLE_FILE, &role);
        if (r < 0)
                return errorf(error, r, "cannot read this image's role (%s): %s", UPDATE_ROLE_FILE, strerror(-r));
        if (!STREQ(role, m->role))
                return errorf(error, -EPERM, "the bundle is for role %s, this node's image is role %s", m->role, role);
        if (m->expires <= now) {
                char when[32];
                strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&m->expires));
                return errorf(error, -EPERM, "the bundle expired at %s: make a new one (make update-bundle)", when);
        }
        uint64_t running = 0;
        r = read_small(root, UPDATE_COUNTER_FILE, &counter);
        if (r >= 0) {
                char *end;
                errno = 0;
                running = strtoull(counter, &end, 10);
                if (errno || *end || end == counter)
                        return errorf(error, -EBADMSG, "%s: '%s' is not a counter", UPDATE_COUNTER_FILE, counter);
        } else if (r != -ENOENT)
                return errorf(error, r, "cannot read %s: %s", UPDATE_COUNTER_FILE, strerror(-r));
        if (m->counter <= running)
                return errorf(error, -EPERM, "the bundle's counter %llu is not above the running image's %llu: a downgrade or a replay",
                            (unsigned long long) m->counter, (unsigned long long) running);
        return 0;
}

/* Streams the current member through SHA-256: its size and lowercase hex. */
static int hash_member(struct archive *a, uint64_t *ret_size, char hex[65]) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
                EVP_MD_CTX_free(c);
                return -ENOMEM;
        }
        _cleanup_free_ char *buf = malloc(1 << 16);
        if (!buf) {
                EVP_MD_CTX_free(c);
                return -ENOMEM;
        }
        uint64_t size = 0;
        int r = 0;
        for (;;) {
                la_ssize_t n = sym_archive_read_data(a, buf, 1 << 16);
                if (n < 0) {
                        r = -EBADMSG;
                        break;
                }
                if (n == 0)
                        break;
                EVP_DigestUpdate(c, buf, (size_t) n);
                size += (uint64_t) n;
        }
        unsigned char md[32];
        unsigned int mdlen = 0;
        if (r >= 0 && !EVP_DigestFinal_ex(c, md, &mdlen))
                r = -EIO;
        EVP_MD_CTX_free(c);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < mdlen; i++)
                sprintf(hex + 2 * i, "%02x", md[i]);
        *ret_size = size;
        return 0;
}

static int check_payload(struct archive *a, const struct update_manifest *m, char **error) {
        _cleanup_free_ bool *seen = calloc(m->n_files, sizeof(bool));
        if (!seen)
                return -ENOMEM;
        struct archive_entry *e;
        int h;
        while ((h = sym_archive_read_next_header(a, &e)) == ARCHIVE_OK) {
                const char *name = sym_archive_entry_pathname(e);
                size_t i = 0;
                while (i < m->n_files && !STREQ(m->files[i].name, name ? name : ""))
                        i++;
                if (i == m->n_files)
                        return errorf(error, -EBADMSG, "member '%s' is not in the manifest", name ? name : "");
                if (seen[i])
                        return errorf(error, -EBADMSG, "member '%s' appears twice", name);
                seen[i] = true;
                uint64_t size = 0;
                char hex[65];
                int r = hash_member(a, &size, hex);
                if (r == -EBADMSG)
                        return errorf(error, r, "%s: truncated or unreadable (%s)", name, archive_why(a, "read error"));
                if (r < 0)
                        return r;
                if (size != m->files[i].size)
                        return errorf(error, -EBADMSG, "%s: %llu bytes, the manifest says %llu (truncated?)", name,
                                    (unsigned long long) size, (unsigned long long) m->files[i].size);
                if (!STREQ(hex, m->files[i].sha256))
                        return errorf(error, -EBADMSG, "%s: sha256 %s, the manifest says %s: the file was changed", name, hex,
                                    m->files[i].sha256);
        }
        if (h != ARCHIVE_EOF)
                return errorf(error, -EBADMSG, "the archive ends early (%s)", archive_why(a, "truncated"));
        for (size_t i = 0; i < m->n_files; i++)
                if (!seen[i])
                        return errorf(error, -EBADMSG, "%s: in the manifest, missing from the bundle", m->files[i].name);
        return 0;
}

int update_check(const char *path, const struct update_check_options *o, struct update_manifest *ret, char **error) {
        const char *root = o && o->root ? o->root : "/";
        time_t now = o && o->now ? o->now : time(NULL);
        int r = libload_archive(error);
        if (r < 0)
                return r;
        struct archive *a = sym_archive_read_new();
        if (!a)
                return -ENOMEM;
        sym_archive_read_support_format_tar(a);
        if (sym_archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
                r = errorf(error, access(path, R_OK) < 0 ? -errno : -EIO, "cannot open: %s", archive_why(a, "?"));
                sym_archive_read_free(a);
                return r;
        }
        _cleanup_free_ char *manifest = NULL, *sig = NULL;
        size_t mlen = 0, slen = 0;
        struct update_manifest m = {};
        r = read_member(a, "manifest.json", MANIFEST_MAX, &manifest, &mlen, error);
        if (r >= 0)
                r = read_member(a, "manifest.json.sig", SIG_MAX, &sig, &slen, error);
        if (r >= 0)
                r = check_signature(root, manifest, mlen, sig, error);
        if (r >= 0) {
                _cleanup_free_ char *why = NULL;
                r = update_manifest_parse(manifest, mlen, &m, &why);
                if (r < 0 && why)
                        r = errorf(error, r, "manifest.json: %s", why);
        }
        if (r >= 0)
                r = check_policy(root, &m, now, error);
        if (r >= 0)
                r = check_payload(a, &m, error);
        sym_archive_read_free(a);
        if (r < 0) {
                update_manifest_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}
