/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <openssl/evp.h>
#include "agent/slots.h"
#include "agent/state.h"
#include "agent/update.h"
#include "agent/updatestate.h"
#include "basic/chase.h"
#include "basic/exec.h"
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
        _cleanup_closedir_ DIR *d = NULL;
        if (r < 0 || (r = dir_stream(dfd, &d)) < 0)
                return r;
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

/* SHA-256 of a stream, as lowercase hex. */
static EVP_MD_CTX *sha256_new(void) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        if (c && !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
                EVP_MD_CTX_free(c);
                return NULL;
        }
        return c;
}

static int sha256_end(EVP_MD_CTX *c, char hex[65]) {
        unsigned char md[32];
        unsigned int mdlen = 0;
        int ok = EVP_DigestFinal_ex(c, md, &mdlen);
        EVP_MD_CTX_free(c);
        if (!ok || mdlen != 32)
                return -EIO;
        for (unsigned i = 0; i < mdlen; i++)
                sprintf(hex + 2 * i, "%02x", md[i]);
        return 0;
}

/* Streams the current member through SHA-256: its size and lowercase hex. */
static int hash_member(struct archive *a, uint64_t *ret_size, char hex[65]) {
        EVP_MD_CTX *c = sha256_new();
        _cleanup_free_ char *buf = malloc(1 << 16);
        if (!c || !buf) {
                EVP_MD_CTX_free(c);
                return -ENOMEM;
        }
        uint64_t size = 0;
        for (;;) {
                la_ssize_t n = sym_archive_read_data(a, buf, 1 << 16);
                if (n < 0) {
                        EVP_MD_CTX_free(c);
                        return -EBADMSG;
                }
                if (n == 0)
                        break;
                EVP_DigestUpdate(c, buf, (size_t) n);
                size += (uint64_t) n;
        }
        *ret_size = size;
        return sha256_end(c, hex);
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

static int bundle_open(const char *path, struct archive **ret, char **error) {
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
        *ret = a;
        return 0;
}

int update_check(const char *path, const struct update_check_options *o, struct update_manifest *ret, char **error) {
        const char *root = o && o->root ? o->root : "/";
        time_t now = o && o->now ? o->now : time(NULL);
        struct archive *a = NULL;
        int r = bundle_open(path, &a, error);
        if (r < 0)
                return r;
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

/* ---- applying: update.h, a. to i. ---------------------------------------- */

#define COPY_CHUNK (1u << 20)
#define VERITYSETUP_TIMEOUT_MS (60 * 60 * 1000)

/* The four files a slot takes, in the order of the targets. */
enum { T_BASE, T_LAYER, T_KERNEL, T_INITRD, _T_MAX };
static const char * const payload_names[_T_MAX] = { "base.sqfs", "layer.sqfs", "vmlinuz", "initrd.img" };

/* Where one payload file goes. */
struct target {
        const struct update_file *f;
        char label[64];         /* "slot b's base partition", "/efi/b/vmlinuz" */
        char *dev;              /* what it is on this system (a device node, a file) */
        int fd;
        uint64_t capacity;      /* a partition's size */
};

static void targets_close(struct target t[_T_MAX]) {
        for (int i = 0; i < _T_MAX; i++) {
                if (t[i].fd >= 0)
                        close(t[i].fd);
                t[i].fd = -EBADF;
                free(t[i].dev);
                t[i].dev = NULL;
        }
}

/* Which target a payload file NAME goes to; _T_MAX for none. */
static int payload_index(const char *name) {
        int k = 0;
        while (k < _T_MAX && !STREQ(name, payload_names[k]))
                k++;
        return k;
}

/* The manifest lists the four files a slot takes, and nothing else. */
static int match_payload(const struct update_manifest *m, struct target t[_T_MAX], char **error) {
        for (size_t i = 0; i < m->n_files; i++) {
                int k = payload_index(m->files[i].name);
                if (k == _T_MAX)
                        return errorf(error, -EBADMSG, "the bundle's file %s has no place in a slot (it takes %s, %s, %s, %s)",
                                      m->files[i].name, payload_names[0], payload_names[1], payload_names[2], payload_names[3]);
                if (k >= T_KERNEL && *m->files[i].verity_root)
                        return errorf(error, -EBADMSG, "%s: a verity root hash, but only base.sqfs and layer.sqfs boot verified",
                                      m->files[i].name);
                t[k].f = &m->files[i];
        }
        for (int k = 0; k < _T_MAX; k++)
                if (!t[k].f)
                        return errorf(error, -EBADMSG, "the bundle has no %s: a slot needs %s, %s, %s and %s", payload_names[k],
                                      payload_names[0], payload_names[1], payload_names[2], payload_names[3]);
        return 0;
}

static int refuse_bad(const struct update_state *st, const struct update_manifest *m, char **error) {
        struct update_image bad;
        if (!update_state_find_bad(st, m->image_id, &bad))
                return 0;
        char when[32];
        return errorf(error, -EPERM, "image %s failed on this node on %s (%s): it is not staged again", m->image_id,
                      update_time_string(bad.at, when, sizeof(when)), bad.reason ? bad.reason : "no reason recorded");
}

/* b.: the running slot, and the other one as the target. */
static int choose_target(const struct update_apply_options *o, const struct esp_state *es, char *ret, char **error) {
        char booted = 0;
        int r = slot_booted(o->cmdline_path, &booted, error);
        if (r < 0)
                return r;
        if (!booted)
                return errorf(error, -ENODEV, "not booted from a slot (no nodeos.slot= on the kernel command line: a PXE boot, or "
                                              "an image without slots): nothing to update");
        if (slot_on_trial(es, booted))
                return errorf(error, -EBUSY, "slot %c runs on trial (not yet marked good, see node-agent update --status): "
                                             "slot %c is its way back and is not overwritten; update once %c is marked good",
                              booted, slot_other(booted), booted);
        *ret = slot_other(booted);
        return 0;
}

static int device_size(int fd, uint64_t *ret) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISBLK(st.st_mode))
                return ioctl(fd, BLKGETSIZE64, ret) < 0 ? negative_errno() : 0;
        if (S_ISREG(st.st_mode)) {      /* a test tree's stand-in */
                *ret = (uint64_t) st.st_size;
                return 0;
        }
        return -ENOTBLK;
}

/* c.: a partition of the target, opened for writing, and what it holds.
 * O_EXCL: a block device mounted or held (a verity device on it) is
 * refused by the kernel, so what runs is never written. */
static int open_partition(const char *root, const char *spec, char slot, const char *what, struct target *t, char **error) {
        _cleanup_free_ char *node = NULL;
        snprintf(t->label, sizeof(t->label), "slot %c's %s partition", slot, what);
        int r = device_spec_path(spec, &node);
        if (r < 0)
                return errorf(error, r, "%s: %s is not a partition spec", t->label, spec);
        t->fd = chase_open(root, node, O_RDWR | O_EXCL);
        if (t->fd < 0)
                return errorf(error, t->fd, "%s (%s, %s): %s", t->label, spec, node,
                              t->fd == -EBUSY ? "in use (mounted, or opened by another program)" : chase_strerror(t->fd));
        if ((r = fd_get_path(t->fd, &t->dev)) < 0)
                return r;
        r = device_size(t->fd, &t->capacity);
        if (r < 0)
                return errorf(error, r, "%s (%s): %s", t->label, t->dev, r == -ENOTBLK ? "not a block device" : strerror(-r));
        if (t->f->size > t->capacity)
                return errorf(error, -ENOSPC, "no space: %s is %llu bytes, %s (%s) holds %llu", t->f->name,
                              (unsigned long long) t->f->size, t->label, t->dev, (unsigned long long) t->capacity);
        return 0;
}

/* d.: the target not bootable before a byte of it changes. */
static int uncommit(const struct esp *esp, const struct esp_state *es, char target, struct update_state *st, char **error) {
        int r = slot_disable(esp, es, target, error);
        /* GRUB boots nodeos_good when no trial is on: never a slot being rewritten */
        if (r >= 0 && es->good == target)
                r = grubenv_set_good(esp, es, slot_other(target), error);
        return r < 0 ? r : update_state_unstage(st, target, NULL, error);
}

/* d.: ESP/<slot>/ emptied, its fd in *ret. */
static int empty_kernel_dir(const struct esp *esp, char slot, int *ret, char **error) {
        char dir[2] = { slot, 0 };
        _cleanup_close_ int fd = -EBADF;
        int r = chase(esp->root, dir, CHASE_MKDIR, 0755, &fd, NULL);
        if (r < 0)
                return errorf(error, r, "%s/%s: %s", ESP_DIR, dir, chase_strerror(r));
        _cleanup_closedir_ DIR *d = NULL;
        if ((r = dir_stream(fd, &d)) < 0)
                return errorf(error, r, "%s/%s: %s", ESP_DIR, dir, strerror(-r));
        for (struct dirent *de; r >= 0 && (de = readdir(d));)
                if (!STREQ(de->d_name, ".") && !STREQ(de->d_name, "..") && unlinkat(fd, de->d_name, 0) < 0 &&
                    errno != ENOENT && errno != EISDIR) {
                        r = negative_errno();
                        r = errorf(error, r, "cannot remove %s/%s/%s: %s", ESP_DIR, dir, de->d_name, strerror(-r));
                }
        if (r < 0)
                return r;
        if (fsync(fd) < 0)
                return negative_errno();
        *ret = TAKE_FD(fd);
        return 0;
}

/* d.: the kernel set's new files, and room for them. */
static int open_kernel_files(const struct esp *esp, int dir, char slot, struct target t[_T_MAX], char **error) {
        struct statvfs sv;
        uint64_t need = t[T_KERNEL].f->size + t[T_INITRD].f->size;
        if (fstatvfs(dir, &sv) == 0 && (uint64_t) sv.f_bavail * sv.f_frsize < need)
                return errorf(error, -ENOSPC, "no space: vmlinuz and initrd.img are %llu bytes, the ESP (%s) has %llu free",
                              (unsigned long long) need, esp->path, (unsigned long long) sv.f_bavail * sv.f_frsize);
        for (int k = T_KERNEL; k <= T_INITRD; k++) {
                _cleanup_free_ char *name = NULL;
                if (asprintf(&name, "%s.new", t[k].f->name) < 0)
                        return -ENOMEM;
                snprintf(t[k].label, sizeof(t[k].label), "%s/%c/%s", ESP_DIR, slot, name);
                t[k].fd = openat(dir, name, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
                int r = t[k].fd < 0 ? negative_errno() : fd_get_path(t[k].fd, &t[k].dev);
                if (t[k].fd < 0)
                        return errorf(error, r, "cannot create %s: %s", t[k].label, strerror(-r));
                if (r < 0)
                        return r;
                t[k].capacity = t[k].f->size;
        }
        return 0;
}

static void progress(const struct target *t, uint64_t done, unsigned *next) {
        uint64_t size = t->f->size ? t->f->size : 1;
        unsigned pct = (unsigned) (done * 100 / size);
        if (pct < *next)
                return;
        fprintf(stderr, "node-agent: update: %s -> %s: %u%%\n", t->f->name, t->label, pct - pct % 10);
        *next = pct - pct % 10 + 10;
}

/* e.: the current member into T, hashed on the way; never more bytes than
 * the checked manifest says. */
static int stream_member(struct archive *a, struct target *t, char *buf, char **error) {
        EVP_MD_CTX *c = sha256_new();
        if (!c)
                return -ENOMEM;
        uint64_t size = 0;
        unsigned next = 10;
        int r = 0;
        for (;;) {
                la_ssize_t n = sym_archive_read_data(a, buf, COPY_CHUNK);
                if (n < 0) {
                        r = errorf(error, -EBADMSG, "%s: truncated or unreadable on the second read (%s): the bundle changed since it was checked",
                                   t->f->name, archive_why(a, "read error"));
                        break;
                }
                if (n == 0)
                        break;
                if (size + (uint64_t) n > t->f->size) {
                        r = errorf(error, -EBADMSG, "%s: longer than the checked manifest's %llu bytes: the bundle changed since it was checked",
                                   t->f->name, (unsigned long long) t->f->size);
                        break;
                }
                if ((r = loop_write(t->fd, buf, (size_t) n)) < 0) {
                        r = errorf(error, r, "cannot write %s to %s (%s): %s", t->f->name, t->label, t->dev, strerror(-r));
                        break;
                }
                EVP_DigestUpdate(c, buf, (size_t) n);
                size += (uint64_t) n;
                progress(t, size, &next);
        }
        char hex[65];
        if (r < 0) {
                EVP_MD_CTX_free(c);
                return r;
        }
        if ((r = sha256_end(c, hex)) < 0)
                return r;
        if (size != t->f->size || !STREQ(hex, t->f->sha256))
                return errorf(error, -EBADMSG, "%s: %llu bytes with sha256 %s on the second read, the checked manifest says %llu and %s: "
                                               "the bundle changed since it was checked", t->f->name, (unsigned long long) size, hex,
                              (unsigned long long) t->f->size, t->f->sha256);
        if (fsync(t->fd) < 0) {
                r = negative_errno();
                return errorf(error, r, "%s (%s): fsync: %s", t->label, t->dev, strerror(-r));
        }
        return 0;
}

/* e.: the bundle read again, each payload member into its target, through
 * BUF (COPY_CHUNK bytes). */
static int stream_payload(const char *path, struct target t[_T_MAX], char *buf, char **error) {
        struct archive *a = NULL;
        int r = bundle_open(path, &a, error);
        if (r < 0)
                return r;
        _cleanup_free_ char *manifest = NULL, *sig = NULL;
        size_t len;
        bool seen[_T_MAX] = {};
        r = read_member(a, "manifest.json", MANIFEST_MAX, &manifest, &len, error);
        if (r >= 0)
                r = read_member(a, "manifest.json.sig", SIG_MAX, &sig, &len, error);
        struct archive_entry *e;
        int h = ARCHIVE_OK;
        while (r >= 0 && (h = sym_archive_read_next_header(a, &e)) == ARCHIVE_OK) {
                const char *name = strempty(sym_archive_entry_pathname(e));
                int k = payload_index(name);
                if (k == _T_MAX || seen[k])
                        r = errorf(error, -EBADMSG, "member '%s' on the second read: the bundle changed since it was checked", name);
                else {
                        seen[k] = true;
                        r = stream_member(a, &t[k], buf, error);
                }
        }
        if (r >= 0 && h != ARCHIVE_EOF)
                r = errorf(error, -EBADMSG, "the archive ends early on the second read (%s): the bundle changed since it was checked",
                           archive_why(a, "truncated"));
        for (int k = 0; r >= 0 && k < _T_MAX; k++)
                if (!seen[k])
                        r = errorf(error, -EBADMSG, "%s missing on the second read: the bundle changed since it was checked",
                                   payload_names[k]);
        sym_archive_read_free(a);
        return r;
}

/* f.: what T holds now, read from the device, not the page cache: after
 * the fsync every cached page is clean, and DONTNEED drops them. */
static int verify_written(struct target *t, char *buf, char **error) {
        (void) posix_fadvise(t->fd, 0, 0, POSIX_FADV_DONTNEED);
        EVP_MD_CTX *c = sha256_new();
        if (!c)
                return -ENOMEM;
        uint64_t off = 0;
        while (off < t->f->size) {
                size_t want = t->f->size - off < COPY_CHUNK ? (size_t) (t->f->size - off) : COPY_CHUNK;
                ssize_t n = pread(t->fd, buf, want, (off_t) off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        int r = n < 0 ? negative_errno() : -EIO;
                        EVP_MD_CTX_free(c);
                        return errorf(error, r, "%s (%s): reading back at %llu: %s", t->label, t->dev, (unsigned long long) off,
                                      n < 0 ? strerror(-r) : "ends early");
                }
                EVP_DigestUpdate(c, buf, (size_t) n);
                off += (uint64_t) n;
        }
        char hex[65];
        int r = sha256_end(c, hex);
        if (r < 0)
                return r;
        if (!STREQ(hex, t->f->sha256))
                return errorf(error, -EIO, "%s (%s): read back, sha256 %s where %s was written: the device does not keep what is "
                                           "written to it", t->label, t->dev, hex, t->f->sha256);
        return 0;
}

/* f.: the filesystem against its root hash, as the initramfs opens it
 * (veritysetup open DEV NAME DEV ROOT --hash-offset=OFF). */
static int verify_verity(const struct target *t, char slot, const char *what, char **error) {
        if (!*t->f->verity_root)
                return 0;
        char off[48];
        snprintf(off, sizeof(off), "--hash-offset=%llu", (unsigned long long) t->f->verity_offset);
        char *argv[] = { "veritysetup", "verify", t->dev, t->dev, (char *) t->f->verity_root, off, NULL };
        struct exec_result er;
        int r = exec_run(argv, VERITYSETUP_TIMEOUT_MS, &er);
        if (r < 0)
                return errorf(error, r, "verity: cannot run veritysetup: %s", strerror(-r));
        if (er.status != 0) {
                _cleanup_free_ char *tail = exec_output_tail(er.output, 2);
                r = errorf(error, -EBADMSG, "verity: slot %c's %s (%s) does not match root hash %s: %s", slot, what, t->dev,
                           t->f->verity_root, strempty(tail));
        }
        exec_result_done(&er);
        return r;
}

/* g.: the kernel set under its names, and the slot's GRUB entry. */
static int finish_kernel_set(const struct esp *esp, int dir, char slot, const struct update_manifest *m, const char *options,
                             char **error) {
        for (int k = T_KERNEL; k <= T_INITRD; k++) {
                _cleanup_free_ char *tmp = NULL;
                if (asprintf(&tmp, "%s.new", payload_names[k]) < 0)
                        return -ENOMEM;
                if (renameat(dir, tmp, dir, payload_names[k]) < 0) {
                        int r = negative_errno();
                        return errorf(error, r, "cannot rename %s/%c/%s: %s", ESP_DIR, slot, tmp, strerror(-r));
                }
        }
        if (fsync(dir) < 0) {
                int r = negative_errno();
                return errorf(error, r, "%s/%c: fsync: %s", ESP_DIR, slot, strerror(-r));
        }
        _cleanup_free_ char *grub = slot_grub_text(m->role, m->image_id, slot, options), *path = NULL;
        if (!grub || asprintf(&path, "%c/grub.cfg", slot) < 0)
                return -ENOMEM;
        int r = esp_write_file(esp, path, grub, strlen(grub));
        if (r < 0)
                return errorf(error, r, "cannot write %s/%s: %s", ESP_DIR, path, chase_strerror(r));
        return 0;
}

static char *verity_arg(const struct update_file *f) {
        char *s = NULL;
        if (!*f->verity_root)
                return NULL;
        return asprintf(&s, "%s:%llu", f->verity_root, (unsigned long long) f->verity_offset) < 0 ? NULL : s;
}

/* h.: the commit. The entry first: a power cut after it leaves a UEFI boot
 * trying the slot and a BIOS boot not yet, both bootable. */
static int commit(const struct esp *esp, char slot, const struct update_manifest *m, const char *options, char **error) {
        char version[24], entry[64];
        snprintf(version, sizeof(version), "%llu", (unsigned long long) m->counter);
        snprintf(entry, sizeof(entry), "loader/entries/nodeos-%c+%d.conf", slot, SLOT_TRIES);
        _cleanup_free_ char *text = slot_entry_text(m->role, m->image_id, version, slot, options);
        if (!text)
                return -ENOMEM;
        int r = esp_write_file(esp, entry, text, strlen(text));
        if (r < 0)
                return errorf(error, r, "cannot write %s/%s: %s", ESP_DIR, entry, chase_strerror(r));
        char try[] = "nodeos_try=?", left[32];
        try[strlen(try) - 1] = slot;
        snprintf(left, sizeof(left), "nodeos_try_left=%d", SLOT_TRIES);
        return grubenv_set(esp, (char *[]) { try, left, NULL }, error);
}

/* What the apply holds open; released on every path. */
struct apply {
        struct update_manifest m;
        struct update_state st;
        struct disk_layout layout;
        struct esp esp;
        struct esp_state es;
        struct target t[_T_MAX];
        int kernel_dir, lock;
        char *buf;
};

static void apply_done(struct apply *ap) {
        update_manifest_done(&ap->m);
        update_state_done(&ap->st);
        disk_layout_done(&ap->layout);
        esp_state_done(&ap->es);
        esp_close(&ap->esp);
        targets_close(ap->t);
        if (ap->kernel_dir >= 0)
                close(ap->kernel_dir);
        if (ap->lock >= 0)
                close(ap->lock);
        free(ap->buf);
}

/* a. to c.: everything checked, nothing written. */
static int apply_prepare(struct apply *ap, const char *path, const struct update_apply_options *o, char *ret_slot, char **error) {
        const char *root = o->root ? o->root : "/";
        struct update_check_options co = { .root = root, .now = o->now };
        int r = update_check(path, &co, &ap->m, error);
        if (r < 0)
                return r;
        if ((r = match_payload(&ap->m, ap->t, error)) < 0)
                return r;
        /* after the check, which writes nothing, not even the lock's directory */
        if ((r = update_lock(root, &ap->lock)) < 0)
                return errorf(error, r, r == -EBUSY ? "another node-agent update runs on this node" : "cannot lock %s: %s",
                              STATE_DIR, chase_strerror(r));
        if ((r = update_state_load(root, &ap->st)) < 0 || (r = refuse_bad(&ap->st, &ap->m, error)) < 0)
                return r;
        if ((r = disk_layout_load(root, &ap->layout, error)) < 0 || (r = esp_open(root, &ap->esp, error)) < 0 ||
            (r = esp_state_load(&ap->esp, &ap->es, error)) < 0)
                return r;
        /* checked before anything changes: the commit sets the trial there */
        if (!ap->es.grubenv)
                return errorf(error, -ENOENT, "%s/grub/grubenv is missing: a BIOS boot could not try the new slot", ESP_DIR);
        char slot = 0;
        if ((r = choose_target(o, &ap->es, &slot, error)) < 0)
                return r;
        int i = slot_index(slot);
        if ((r = open_partition(root, ap->layout.base[i], slot, "base", &ap->t[T_BASE], error)) < 0 ||
            (r = open_partition(root, ap->layout.layer[i], slot, "layer", &ap->t[T_LAYER], error)) < 0)
                return r;
        *ret_slot = slot;
        return 0;
}

/* A line per phase on stderr, beside stream_member's percentages: the
 * operator sees where a long apply is, and a power-cut test knows where it
 * cut (qemu-tests/cases/update.sh). */
static void phase(char slot, const char *what) {
        fprintf(stderr, "node-agent: update: slot %c: %s\n", slot, what);
}

/* e. and f. */
static int apply_write(struct apply *ap, const char *path, char slot, char **error) {
        phase(slot, "writing base.sqfs, layer.sqfs (its partitions), vmlinuz, initrd.img (the ESP)");
        int r = stream_payload(path, ap->t, ap->buf, error);
        if (r >= 0)
                phase(slot, "reading back what was written (sha256), then its verity trees");
        for (int k = 0; r >= 0 && k < _T_MAX; k++)
                r = verify_written(&ap->t[k], ap->buf, error);
        if (r < 0)
                return r;
        /* closed first: veritysetup opens the partitions itself */
        for (int k = T_BASE; k <= T_LAYER; k++) {
                close(ap->t[k].fd);
                ap->t[k].fd = -EBADF;
        }
        if ((r = verify_verity(&ap->t[T_BASE], slot, "base", error)) < 0)
                return r;
        return verify_verity(&ap->t[T_LAYER], slot, "layer", error);
}

/* The slot's kernel command line, its verity root hashes included. */
static int slot_options(const struct apply *ap, char slot, char **ret) {
        _cleanup_free_ char *bv = verity_arg(ap->t[T_BASE].f), *lv = verity_arg(ap->t[T_LAYER].f);
        if ((*ap->t[T_BASE].f->verity_root && !bv) || (*ap->t[T_LAYER].f->verity_root && !lv))
                return -ENOMEM;
        *ret = slot_cmdline(&ap->layout, slot, bv, lv, ap->m.boot_options);
        return *ret ? 0 : -ENOMEM;
}

static int record_staged(struct apply *ap, char slot, time_t now, char **error) {
        struct update_image img = { .slot = slot, .image_id = ap->m.image_id, .version = ap->m.version,
                                    .counter = ap->m.counter, .at = now };
        int r = update_state_set_staged(&ap->st, &img);
        if (r >= 0)
                r = update_state_save(&ap->st);
        return r < 0 ? errorf(error, r, "cannot write %s: %s", UPDATE_STATE_FILE, chase_strerror(r)) : 0;
}

int update_apply(const char *path, const struct update_apply_options *o, char **error) {
        const char *root = o->root ? o->root : "/";
        time_t now = o->now ? o->now : time(NULL);
        struct apply ap = { .kernel_dir = -EBADF, .lock = -EBADF };
        for (int k = 0; k < _T_MAX; k++)
                ap.t[k].fd = -EBADF;
        char slot = 0;
        int r = apply_prepare(&ap, path, o, &slot, error);
        if (r >= 0 && !(ap.buf = malloc(COPY_CHUNK)))
                r = -ENOMEM;
        if (r >= 0) {
                phase(slot, "checked; taking it out of the boot (its entry, its GRUB trial, its kernel set)");
                r = uncommit(&ap.esp, &ap.es, slot, &ap.st, error);
        }
        if (r >= 0)
                r = empty_kernel_dir(&ap.esp, slot, &ap.kernel_dir, error);
        if (r >= 0)
                r = open_kernel_files(&ap.esp, ap.kernel_dir, slot, ap.t, error);
        if (r >= 0)
                r = apply_write(&ap, path, slot, error);
        _cleanup_free_ char *options = NULL;
        if (r >= 0)
                r = slot_options(&ap, slot, &options);
        if (r >= 0) {
                phase(slot, "verified; the kernel set and grub.cfg into place on the ESP");
                r = finish_kernel_set(&ap.esp, ap.kernel_dir, slot, &ap.m, options, error);
        }
        if (r >= 0) {
                phase(slot, "committing: its boot entry, then grubenv");
                r = commit(&ap.esp, slot, &ap.m, options, error);
        }
        if (r >= 0)
                r = record_staged(&ap, slot, now, error);
        if (r >= 0) {
                _cleanup_free_ char *line = NULL;
                if (asprintf(&line, "node-agent update: image %s (%s, counter %llu) staged in slot %c\n", ap.m.image_id,
                             ap.m.version, (unsigned long long) ap.m.counter, slot) < 0)
                        r = -ENOMEM;
                else if ((r = write_file_atomic(root, UPDATE_REBOOT_REQUIRED, line, strlen(line), 0644, -1, -1, NULL)) < 0)
                        r = errorf(error, r, "cannot write %s: %s", UPDATE_REBOOT_REQUIRED, chase_strerror(r));
        }
        if (r >= 0)
                printf("staged image %s (%s, counter %llu) in slot %c: the next boot tries it (%d tries; slot %c boots again "
                       "if it does not come up healthy); reboot to apply it\n",
                       ap.m.image_id, ap.m.version, (unsigned long long) ap.m.counter, slot, SLOT_TRIES, slot_other(slot));
        apply_done(&ap);
        return r;
}
