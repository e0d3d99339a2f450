/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "agent/slots.h"
#include "basic/chase.h"
#include "basic/cmdline.h"
#include "basic/exec.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/strv.h"

#define ENTRIES_DIR "loader/entries"
#define GRUBENV_DIR "grub"
#define GRUB_EDITENV_TIMEOUT_MS 30000

void disk_layout_done(struct disk_layout *l) {
        free(l->esp);
        free(l->data);
        for (int i = 0; i < 2; i++) {
                free(l->base[i]);
                free(l->layer[i]);
        }
        *l = (struct disk_layout) {};
}

static const char * const layout_keys[] = { "esp", "data", "a.base", "a.layer", "b.base", "b.layer" };

/* The field of L for layout_keys[i]. */
static char **layout_field(struct disk_layout *l, size_t i) {
        char **fields[] = { &l->esp, &l->data, &l->base[0], &l->layer[0], &l->base[1], &l->layer[1] };
        return fields[i];
}

/* One "KEY=SPEC" line (blanks around it trimmed already); lines[] holds
 * where each key was given. */
static int layout_line(struct disk_layout *l, char *line, const char *file, unsigned n, unsigned lines[], char **error) {
        char *eq = strchr(line, '=');
        if (!eq || eq == line || strpbrk(line, " \t"))
                return errorf(error, -EINVAL, "%s:%u: '%s': want KEY=SPEC (no blanks)", file, n, line);
        *eq = 0;
        const char *spec = eq + 1;
        size_t i = 0;
        while (i < ELEMENTSOF(layout_keys) && !STREQ(line, layout_keys[i]))
                i++;
        if (i == ELEMENTSOF(layout_keys))
                return errorf(error, -EINVAL, "%s:%u: unknown key '%s' (want esp, data, a.base, a.layer, b.base, b.layer)",
                              file, n, line);
        char **field = layout_field(l, i);
        if (*field)
                return errorf(error, -EINVAL, "%s:%u: %s given twice (first on line %u)", file, n, line, lines[i]);
        _cleanup_free_ char *dev = NULL;
        if (device_spec_path(spec, &dev) < 0)
                return errorf(error, -EINVAL, "%s:%u: %s=%s: want PARTUUID=..., LABEL=... or /dev/...", file, n, line, spec);
        if (!(*field = strdup(spec)))
                return -ENOMEM;
        lines[i] = n;
        return 0;
}

/* Every key given, and no two naming one partition: that would let an
 * update overwrite what runs. */
static int layout_check(struct disk_layout *l, const char *file, const unsigned lines[], char **error) {
        for (size_t i = 0; i < ELEMENTSOF(layout_keys); i++) {
                const char *v = *layout_field(l, i);
                if (!v)
                        return errorf(error, -EINVAL, "%s: %s is missing", file, layout_keys[i]);
                for (size_t j = 0; j < i; j++)
                        if (strcasecmp(v, *layout_field(l, j)) == 0)
                                return errorf(error, -EINVAL, "%s:%u: %s is %s, the same as %s (line %u)", file, lines[i],
                                              layout_keys[i], v, layout_keys[j], lines[j]);
        }
        return 0;
}

int disk_layout_parse(const char *text, const char *file, struct disk_layout *ret, char **error) {
        struct disk_layout l = {};
        unsigned lines[ELEMENTSOF(layout_keys)] = {};
        _cleanup_free_ char *copy = strdup(text);
        if (!copy)
                return -ENOMEM;
        int r = 0;
        unsigned n = 0;
        for (char *p = copy, *next; r >= 0 && p; p = next) {
                next = strchr(p, '\n');
                if (next)
                        *next++ = 0;
                n++;
                while (isspace((unsigned char) *p))
                        p++;
                size_t len = strlen(p);
                while (len > 0 && isspace((unsigned char) p[len - 1]))
                        p[--len] = 0;
                if (*p && *p != '#')
                        r = layout_line(&l, p, file, n, lines, error);
        }
        if (r >= 0)
                r = layout_check(&l, file, lines, error);
        if (r < 0) {
                disk_layout_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

int disk_layout_load(const char *root, struct disk_layout *ret, char **error) {
        _cleanup_free_ char *text = NULL;
        int r = read_file_in_root(root, DISK_LAYOUT_FILE, &text, NULL);
        if (r == -ENOENT)
                return errorf(error, r, "%s is missing: this image has no A/B slots", DISK_LAYOUT_FILE);
        if (r < 0)
                return errorf(error, r, "cannot read %s: %s", DISK_LAYOUT_FILE, chase_strerror(r));
        return disk_layout_parse(text, DISK_LAYOUT_FILE, ret, error);
}

/* udev's encoding of a by-label name (blkid's ID_FS_LABEL_ENC). */
static char *label_encode(const char *label) {
        size_t n = strlen(label);
        char *s = malloc(4 * n + 1), *o = s;
        if (!s)
                return NULL;
        for (const char *p = label; *p; p++)
                if (isalnum((unsigned char) *p) || strchr("#+-.:=@_", *p))
                        *o++ = *p;
                else
                        o += sprintf(o, "\\x%02x", (unsigned char) *p);
        *o = 0;
        return s;
}

int device_spec_path(const char *spec, char **ret) {
        char *s = NULL;
        if (strncmp(spec, "PARTUUID=", 9) == 0) {
                const char *u = spec + 9;
                if (!*u || strspn(u, "0123456789abcdefABCDEF-") != strlen(u))
                        return -EINVAL;
                if (asprintf(&s, "/dev/disk/by-partuuid/%s", u) < 0)
                        return -ENOMEM;
                for (char *p = s + strlen("/dev/disk/by-partuuid/"); *p; p++)
                        *p = (char) tolower((unsigned char) *p);
        } else if (strncmp(spec, "LABEL=", 6) == 0) {
                if (!spec[6])
                        return -EINVAL;
                _cleanup_free_ char *enc = label_encode(spec + 6);
                if (!enc || asprintf(&s, "/dev/disk/by-label/%s", enc) < 0)
                        return -ENOMEM;
        } else if (strncmp(spec, "/dev/", 5) == 0 && spec[5]) {
                if (!(s = strdup(spec)))
                        return -ENOMEM;
        } else
                return -EINVAL;
        *ret = s;
        return 0;
}

int slot_from_cmdline(const char *cmdline, char *ret, char **error) {
        _cleanup_free_ char *v = NULL;
        int r = cmdline_get_value(cmdline, "nodeos.slot", &v);
        if (r < 0)
                return r;
        if (v && !STREQ(v, "a") && !STREQ(v, "b"))
                return errorf(error, -EINVAL, "nodeos.slot=%s on the kernel command line: want a or b", v);
        *ret = v ? v[0] : 0;
        return 0;
}

int slot_booted(const char *cmdline_path, char *ret, char **error) {
        const char *path = cmdline_path ? cmdline_path : "/proc/cmdline";
        _cleanup_free_ char *cmdline = NULL;
        int r = read_full_file(path, &cmdline, NULL);
        if (r < 0)
                return errorf(error, r, "cannot read the kernel command line %s: %s", path, strerror(-r));
        return slot_from_cmdline(cmdline, ret, error);
}

/* A count in an entry name: 1 to 3 digits. */
static const char *parse_count(const char *p, unsigned *ret) {
        size_t n = strspn(p, "0123456789");
        if (n == 0 || n > 3)
                return NULL;
        *ret = (unsigned) strtoul(p, NULL, 10);
        return p + n;
}

int entry_name_parse(const char *name, struct entry_name *ret) {
        struct entry_name e = {};
        if (strncmp(name, "nodeos-", 7) != 0 || (name[7] != 'a' && name[7] != 'b'))
                return -EINVAL;
        e.slot = name[7];
        const char *p = name + 8;
        if (*p == '+') {
                e.counted = true;
                if (!(p = parse_count(p + 1, &e.left)))
                        return -EINVAL;
                if (*p == '-' && !(p = parse_count(p + 1, &e.done)))
                        return -EINVAL;
        }
        if (!STREQ(p, ".conf"))
                return -EINVAL;
        *ret = e;
        return 0;
}

char *entry_name_format(const struct entry_name *e) {
        char *s = NULL;
        int r;
        if (!e->counted)
                r = asprintf(&s, "nodeos-%c.conf", e->slot);
        else if (e->done == 0)
                r = asprintf(&s, "nodeos-%c+%u.conf", e->slot, e->left);
        else
                r = asprintf(&s, "nodeos-%c+%u-%u.conf", e->slot, e->left, e->done);
        return r < 0 ? NULL : s;
}

void esp_close(struct esp *e) {
        if (e->fd >= 0)
                close(e->fd);
        free(e->path);
        *e = (struct esp) { .fd = -EBADF };
}

int esp_open(const char *root, struct esp *ret, char **error) {
        *ret = (struct esp) { .fd = -EBADF };
        /* A plain open of the mount point triggers the automount; the
         * O_PATH walk of chase() would not, and would find the empty autofs
         * directory under it. */
        _cleanup_free_ char *mountpoint = path_in_root(root, ESP_DIR);
        if (!mountpoint)
                return -ENOMEM;
        int t = open(mountpoint, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (t >= 0)
                close(t);
        int fd = -EBADF;
        int r = chase(root, ESP_DIR, 0, 0, &fd, NULL);
        if (r < 0)
                return errorf(error, r, "cannot open the ESP at %s: %s", ESP_DIR, chase_strerror(r));
        struct esp e = { .fd = fd };
        snprintf(e.root, sizeof(e.root), "/proc/self/fd/%d", fd);
        if ((r = fd_get_path(fd, &e.path)) < 0) {
                esp_close(&e);
                return r;
        }
        _cleanup_close_ int entries = -EBADF;
        r = chase(e.root, ENTRIES_DIR, 0, 0, &entries, NULL);
        if (r < 0) {
                r = errorf(error, r, "%s/%s: %s (the ESP not mounted, or a disk without slots)", ESP_DIR, ENTRIES_DIR,
                           chase_strerror(r));
                esp_close(&e);
                return r;
        }
        *ret = e;
        return 0;
}

/* The path, on this system, of NAME in the ESP's directory DIR (resolved
 * inside the ESP), for a program. */
static int esp_host_path(const struct esp *e, const char *dir, const char *name, char **ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *d = NULL;
        int r = chase(e->root, dir, 0, 0, &fd, NULL);
        if (r < 0)
                return r;
        r = fd_get_path(fd, &d);
        if (r < 0)
                return r;
        return asprintf(ret, "%s/%s", d, name) < 0 ? -ENOMEM : 0;
}

void esp_state_done(struct esp_state *s) {
        for (int i = 0; i < 2; i++) {
                free(s->slots[i].entry);
                free(s->slots[i].image_id);
                free(s->slots[i].version);
        }
        *s = (struct esp_state) {};
}

/* The title's "(<16 hex>)" and the version line of an entry. */
static int entry_read(const struct esp *e, struct slot_boot *b) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        if (asprintf(&path, ENTRIES_DIR "/%s", b->entry) < 0)
                return -ENOMEM;
        int r = read_file_in_root(e->root, path, &text, NULL);
        if (r < 0)
                return r;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, "title ", 6) == 0) {
                        char *open = strchr(line, '(');
                        if (open && strspn(open + 1, "0123456789abcdef") == 16 && open[17] == ')' &&
                            !(b->image_id = strndup(open + 1, 16)))
                                return -ENOMEM;
                } else if (strncmp(line, "version ", 8) == 0) {
                        free(b->version);
                        if (!(b->version = strdup(line + 8)))
                                return -ENOMEM;
                }
        }
        return 0;
}

static unsigned tries_left(const struct entry_name *n) {
        return n->counted ? n->left : UINT_MAX;
}

/* The ESP's entries directory as a stream; dirfd() of it serves *at() calls. */
static int entries_dir_open(const struct esp *e, DIR **ret) {
        _cleanup_close_ int fd = -EBADF;
        int r = chase(e->root, ENTRIES_DIR, 0, 0, &fd, NULL);
        return r < 0 ? r : dir_stream(fd, ret);
}

static int entries_load(const struct esp *e, struct esp_state *s) {
        _cleanup_closedir_ DIR *d = NULL;
        int r = entries_dir_open(e, &d);
        if (r < 0)
                return r;
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                struct entry_name n;
                if (entry_name_parse(de->d_name, &n) < 0)
                        continue;
                struct slot_boot *b = &s->slots[slot_index(n.slot)];
                if (b->entry && tries_left(&b->name) <= tries_left(&n))
                        continue;
                free(b->entry);
                free(b->image_id);
                free(b->version);
                *b = (struct slot_boot) { .name = n, .entry = strdup(de->d_name) };
                b->state = !n.counted ? ENTRY_GOOD : n.left > 0 ? ENTRY_TRYING : ENTRY_BAD;
                r = b->entry ? entry_read(e, b) : -ENOMEM;
        }
        return r;
}

/* grub-editenv's list: "K=V" lines. */
static void grubenv_parse(struct esp_state *s, char *list) {
        for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, "nodeos_good=", 12) == 0 && (STREQ(line + 12, "a") || STREQ(line + 12, "b")))
                        s->good = line[12];
                else if (strncmp(line, "nodeos_try=", 11) == 0 && (STREQ(line + 11, "a") || STREQ(line + 11, "b")))
                        s->try_slot = line[11];
                else if (strncmp(line, "nodeos_try_left=", 16) == 0 && strspn(line + 16, "0123456789") == strlen(line + 16) &&
                         line[16] && strlen(line + 16) < 4)
                        s->try_left = atoi(line + 16);
        }
}

static int grubenv_run(const struct esp *e, const char *verb, char * const *args, char **output, char **error) {
        _cleanup_free_ char *path = NULL;
        int r = esp_host_path(e, GRUBENV_DIR, "grubenv", &path);
        if (r < 0)
                return errorf(error, r, "%s/%s/grubenv: %s", ESP_DIR, GRUBENV_DIR, chase_strerror(r));
        _cleanup_strv_free_ char **argv = NULL;
        if (strv_extend(&argv, "grub-editenv") < 0 || strv_extend(&argv, path) < 0 || strv_extend(&argv, verb) < 0)
                return -ENOMEM;
        STRV_FOREACH(a, args)
                if (strv_extend(&argv, *a) < 0)
                        return -ENOMEM;
        struct exec_result er;
        r = exec_run(argv, GRUB_EDITENV_TIMEOUT_MS, &er);
        if (r < 0)
                return errorf(error, r, "cannot run grub-editenv: %s", strerror(-r));
        if (er.status != 0) {
                _cleanup_free_ char *tail = exec_output_tail(er.output, 2);
                r = errorf(error, -EIO, "grub-editenv %s %s failed (status %d): %s", path, verb, er.status, strempty(tail));
                exec_result_done(&er);
                return r;
        }
        if (output)
                *output = TAKE_PTR(er.output);
        exec_result_done(&er);
        return 0;
}

int esp_state_load(const struct esp *e, struct esp_state *ret, char **error) {
        struct esp_state s = { .try_left = -1 };
        int r = entries_load(e, &s);
        if (r < 0) {
                esp_state_done(&s);
                return errorf(error, r, "cannot read the boot entries in %s/%s: %s", ESP_DIR, ENTRIES_DIR, chase_strerror(r));
        }
        /* no grubenv: no GRUB state (a UEFI-only ESP), not an error; and
         * `grub-editenv FILE list` would create FILE, so only one that exists */
        int fd = chase_open(e->root, GRUBENV_DIR "/grubenv", O_RDONLY);
        if (fd >= 0) {
                close(fd);
                s.grubenv = true;
                _cleanup_free_ char *list = NULL;
                r = grubenv_run(e, "list", NULL, &list, error);
                if (r < 0) {
                        esp_state_done(&s);
                        return r;
                }
                grubenv_parse(&s, list);
        }
        *ret = s;
        return 0;
}

int grubenv_set(const struct esp *e, char * const *assignments, char **error) {
        return grubenv_run(e, "set", assignments, NULL, error);
}

int grubenv_unset(const struct esp *e, char * const *names, char **error) {
        return grubenv_run(e, "unset", names, NULL, error);
}

int grubenv_set_good(const struct esp *e, const struct esp_state *es, char slot, char **error) {
        char good[] = "nodeos_good=?";
        good[strlen(good) - 1] = slot;
        return es->good == slot ? 0 : grubenv_set(e, (char *[]) { good, NULL }, error);
}

int grubenv_end_trial(const struct esp *e, const struct esp_state *es, char slot, char **error) {
        return es->try_slot == slot ? grubenv_unset(e, (char *[]) { "nodeos_try", "nodeos_try_left", NULL }, error) : 0;
}

int slot_disable(const struct esp *e, const struct esp_state *es, char slot, char **error) {
        int r = slot_entries_remove(e, slot);
        if (r < 0)
                return errorf(error, r, "cannot remove slot %c's boot entries: %s", slot, chase_strerror(r));
        return grubenv_end_trial(e, es, slot, error);
}

bool slot_on_trial(const struct esp_state *s, char slot) {
        return s->slots[slot_index(slot)].name.counted || s->try_slot == slot;
}

enum slot_state slot_state(const struct esp_state *s, char slot, char booted, unsigned *left) {
        const struct slot_boot *b = &s->slots[slot_index(slot)];
        bool grub_try = s->try_slot == slot;
        if (!grub_try && b->state == ENTRY_NONE)
                return SLOT_EMPTY;
        if (!grub_try && b->state == ENTRY_GOOD)
                return SLOT_GOOD;
        unsigned l = tries_left(&b->name);
        /* GRUB boots nodeos_try only while nodeos_try_left is 3, 2 or 1 */
        unsigned g = s->try_left > 0 ? (unsigned) s->try_left : 0;
        if (grub_try && g < l)
                l = g;
        if (l == UINT_MAX)
                l = 0;
        if (l == 0 && slot != booted)
                return SLOT_BAD;
        if (left)
                *left = l;
        return SLOT_TRYING;
}

const char *slot_state_to_string(enum slot_state st) {
        static const char * const names[] = {
                [SLOT_EMPTY] = "empty", [SLOT_GOOD] = "good", [SLOT_TRYING] = "trying", [SLOT_BAD] = "bad",
        };
        return names[st];
}

int esp_write_file(const struct esp *e, const char *path, const char *content, size_t len) {
        _cleanup_close_ int dir = -EBADF;
        _cleanup_free_ char *name = NULL;
        int r = chase(e->root, path, CHASE_PARENT | CHASE_MKDIR, 0755, &dir, &name);
        if (r < 0 || (r = write_file_at(dir, name, content, len, FILE_MODE_NONE, -1, -1, NULL)) < 0)
                return r;
        /* write_file_at() does not fail on it; a boot entry's rename must last */
        return fsync(dir) < 0 ? negative_errno() : 0;
}

/* One of SLOT's entries, or what a cut write of one left (WRITE_TMP_SUFFIX). */
static bool slot_entry_file(const char *name, char slot) {
        const char *tmp = endswith(name, WRITE_TMP_SUFFIX);
        _cleanup_free_ char *entry = tmp && tmp > name ? strndup(name, (size_t)(tmp - name)) : NULL;
        struct entry_name n;
        return entry_name_parse(entry ? entry : name, &n) >= 0 && n.slot == slot;
}

int slot_entries_remove(const struct esp *e, char slot) {
        _cleanup_closedir_ DIR *d = NULL;
        int r = entries_dir_open(e, &d);
        if (r < 0)
                return r;
        int fd = dirfd(d);
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                if (slot_entry_file(de->d_name, slot) && unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT)
                        r = negative_errno();
        }
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        return r;
}

int slot_entry_rename(const struct esp *e, const char *from, const char *to) {
        _cleanup_close_ int fd = -EBADF;
        int r = chase(e->root, ENTRIES_DIR, 0, 0, &fd, NULL);
        if (r < 0)
                return r;
        if (renameat(fd, from, fd, to) < 0)
                return negative_errno();
        return fsync(fd) < 0 ? negative_errno() : 0;
}

char *slot_cmdline(const struct disk_layout *l, char slot, const char *base_verity, const char *layer_verity,
                   const char *boot_options) {
        char *s = NULL;
        int i = slot_index(slot);
        if (asprintf(&s, "boot=nodeos nodeos.slot=%c nodeos.base=%s nodeos.layer=%s nodeos.data=%s%s%s%s%s ro%s%s", slot,
                     l->base[i], l->layer[i], l->data, base_verity ? " nodeos.base.verity=" : "", strempty(base_verity),
                     layer_verity ? " nodeos.layer.verity=" : "", strempty(layer_verity),
                     boot_options && *boot_options ? " " : "", strempty(boot_options)) < 0)
                return NULL;
        return s;
}

char *slot_entry_text(const char *role, const char *image_id, const char *version, char slot, const char *options) {
        char *s = NULL;
        if (asprintf(&s, "title dojot-nodeos %s (%s) slot %c\nsort-key nodeos\nversion %s\nlinux /%c/vmlinuz\n"
                         "initrd /%c/initrd.img\noptions %s\n",
                     role, image_id, slot, version, slot, slot, options) < 0)
                return NULL;
        return s;
}

/* A word of a GRUB command, quoted when GRUB's parser would read anything
 * in it ($, ;, quotes, braces...): in single quotes, which GRUB takes
 * literally, a quote itself as '\''. Appends to *buf. */
static int grub_word(char **buf, const char *w, size_t n) {
        char *old = *buf, *s = NULL;
        bool plain = n > 0;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) w[i]) && !strchr("-_=,./:+@%", w[i]))
                        plain = false;
        if (plain) {
                if (asprintf(&s, "%s %.*s", old, (int) n, w) < 0)
                        return -ENOMEM;
        } else {
                size_t len = strlen(old);
                if (!(s = malloc(len + 4 * n + 4)))
                        return -ENOMEM;
                char *o = s + len;
                memcpy(s, old, len);
                *o++ = ' ';
                *o++ = '\'';
                for (size_t i = 0; i < n; i++)
                        if (w[i] == '\'')
                                o = stpcpy(o, "'\\''");
                        else
                                *o++ = w[i];
                *o++ = '\'';
                *o = 0;
        }
        free(old);
        *buf = s;
        return 0;
}

char *slot_grub_text(const char *role, const char *image_id, char slot, const char *options) {
        _cleanup_free_ char *args = strdup(""), *title = NULL;
        if (!args)
                return NULL;
        for (const char *p = options; *p;) {
                size_t n = strcspn(p, " ");
                if (n > 0 && grub_word(&args, p, n) < 0)
                        return NULL;
                p += n;
                p += strspn(p, " ");
        }
        char *s = NULL;
        if (asprintf(&s, "menuentry \"dojot-nodeos %s (%s) slot %c\" {\n  linux /%c/vmlinuz%s\n  initrd /%c/initrd.img\n}\n", role,
                     image_id, slot, slot, args, slot) < 0)
                return NULL;
        return s;
}
