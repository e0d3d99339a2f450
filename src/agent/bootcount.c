/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "agent/bootcount.h"
#include "agent/health.h"
#include "agent/slots.h"
#include "agent/state.h"
#include "agent/updatestate.h"
#include "basic/chase.h"
#include "basic/exec.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"

#define OS_RELEASE "/usr/lib/os-release"
#define REASON_MAX 400

/* What a boot-complete or failed-boot works on, released on every path. */
struct slots_ctx {
        const char *root;
        char booted;
        struct esp esp;
        struct esp_state es;
        struct update_state st;
        int lock;
        char *esp_error;        /* read-only use: why the ESP could not be read */
};

static void ctx_done(struct slots_ctx *c) {
        esp_state_done(&c->es);
        esp_close(&c->esp);
        update_state_done(&c->st);
        free(c->esp_error);
        if (c->lock >= 0)
                close(c->lock);
}

/* For a change (LOCKED): the update lock, a running slot and the ESP
 * required. To look: whatever can be read (a PXE boot has no ESP). */
static int ctx_open(const struct bootcount_options *o, bool locked, struct slots_ctx *c, char **error) {
        *c = (struct slots_ctx) { .root = o->root ? o->root : "/", .esp = { .fd = -EBADF }, .lock = -EBADF };
        int r = locked ? update_lock(c->root, &c->lock) : 0;
        if (r < 0)
                return errorf(error, r, r == -EBUSY ? "another node-agent update runs on this node" : "cannot lock %s: %s",
                              STATE_DIR, chase_strerror(r));
        if ((r = slot_booted(o->cmdline_path, &c->booted, error)) < 0)
                return r;
        if (!c->booted && locked)
                return errorf(error, -ENODEV, "not booted from a slot (no nodeos.slot= on the kernel command line): no slot to mark");
        if ((r = update_state_load(c->root, &c->st)) < 0)
                return r;
        char **why = locked ? error : &c->esp_error;
        if ((r = esp_open(c->root, &c->esp, why)) < 0 || (r = esp_state_load(&c->esp, &c->es, why)) < 0)
                return locked ? r : 0;
        return 0;
}

/* The running image's id (os-release's IMAGE_VERSION, image/build-image),
 * NULL when there is none. */
static char *running_image_id(const char *root) {
        _cleanup_free_ char *text = NULL;
        if (read_file_in_root(root, OS_RELEASE, &text, NULL) < 0)
                return NULL;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
                if (strncmp(line, "IMAGE_VERSION=", 14) == 0) {
                        char *v = line + 14;
                        v += *v == '"';
                        v[strcspn(v, "\"")] = 0;
                        return *v ? strdup(v) : NULL;
                }
        return NULL;
}

/* The image in SLOT: the staged record when it is that slot's, else what
 * its boot entry's title and version say. Strings borrowed. */
static void slot_image(const struct slots_ctx *c, char slot, struct update_image *ret) {
        if (update_state_staged(&c->st, ret) && ret->slot == slot)
                return;
        const struct slot_boot *b = &c->es.slots[slot_index(slot)];
        *ret = (struct update_image) { .slot = slot, .image_id = b->image_id, .version = NULL,
                                       .counter = b->version ? strtoull(b->version, NULL, 10) : 0 };
}

/* One line, bounded: it ends up in a NODEOS-UPDATE line and in update.json. */
static char *one_line(const char *s) {
        char *l = strndup(s, REASON_MAX);
        if (!l)
                return NULL;
        for (char *p = l; *p; p++)
                if (*p == '\n' || *p == '\r' || *p == '\t')
                        *p = ' ';
        size_t n = strlen(l);
        while (n > 0 && l[n - 1] == ' ')
                l[--n] = 0;
        return l;
}

static int set_grubenv_good(struct slots_ctx *c, char **error) {
        if (!c->es.grubenv)     /* no GRUB on this ESP (a UEFI-only one): nothing to mark there */
                return 0;
        int r = grubenv_set_good(&c->esp, &c->es, c->booted, error);
        return r < 0 ? r : grubenv_end_trial(&c->esp, &c->es, c->booted, error);
}

/* Makes what this command and systemd-bless-boot (ordered before it) wrote
 * on the ESP durable: the FAT's changes otherwise sit in the page cache
 * until the automount's idle unmount, and a power cut before that undoes
 * the mark. */
static int esp_flush(struct slots_ctx *c, char **error) {
        if (c->esp.fd < 0 || syncfs(c->esp.fd) >= 0)
                return 0;
        return errorf(error, -errno, "cannot flush the ESP (%s): %s", c->esp.path ? c->esp.path : ESP_DIR, strerror(errno));
}

/* The running slot's entry gets its good (uncounted) name, as
 * systemd-bless-boot names it. On a boot systemd-boot counted,
 * systemd-bless-boot.service (ordered before this) has done it already and
 * the entry reads uncounted here; this covers the boots where it did not:
 * BIOS boots, and UEFI boots where its generator did not pull it in (seen
 * under OVMF in qemu-tests/cases/update.sh: no trace of the service, the
 * entry left counted). */
static int bless_entry(struct slots_ctx *c, char **error) {
        const struct slot_boot *b = &c->es.slots[slot_index(c->booted)];
        if (!b->entry || !b->name.counted)
                return 0;
        struct entry_name good = { .slot = c->booted };
        _cleanup_free_ char *name = entry_name_format(&good);
        if (!name)
                return -ENOMEM;
        int r = slot_entry_rename(&c->esp, b->entry, name);
        if (r < 0)
                return errorf(error, r, "cannot rename %s/loader/entries/%s to %s: %s", ESP_DIR, b->entry, name, chase_strerror(r));
        return 0;
}

/* The other slot's staged image, if it was rolled back (bootcount.h). */
static int check_rollback(struct slots_ctx *c, time_t now, char **error) {
        char t = slot_other(c->booted);
        struct update_image img, bad;
        bool staged = update_state_staged(&c->st, &img) && img.slot == t;
        enum slot_state state = slot_state(&c->es, t, c->booted, NULL);
        bool gone = state == SLOT_EMPTY;
        bool recorded = staged && img.image_id && update_state_find_bad(&c->st, img.image_id, &bad);
        /* without a record (update.json lost), an entry out of tries still tells */
        bool rolled_back = staged ? recorded || state == SLOT_BAD || gone : state == SLOT_BAD;
        if (!rolled_back)
                return 0;
        if (!staged)
                slot_image(c, t, &img);
        char tries[128];
        snprintf(tries, sizeof(tries), "rolled back: slot %c did not come up healthy within %d boots", t, SLOT_TRIES);
        _cleanup_free_ char *reason = strdup(recorded ? strempty(bad.reason)
                                             : gone ? "rolled back: its boot entry is gone, it was never tried" : tries);
        _cleanup_free_ char *id = strdup(img.image_id ? img.image_id : "unknown");
        if (!reason || !id)
                return -ENOMEM;
        int r = 0;
        if (!recorded && !gone && img.image_id) {
                img.reason = reason;
                img.at = now;
                r = update_state_add_bad(&c->st, &img);
        }
        if (r >= 0 && staged)
                r = update_state_set_staged(&c->st, NULL);
        uint64_t counter = img.counter;
        if (r >= 0)
                r = update_state_save(&c->st);
        if (r < 0)
                return errorf(error, r, "cannot write %s: %s", UPDATE_STATE_FILE, chase_strerror(r));
        if ((r = slot_disable(&c->esp, &c->es, t, error)) < 0)
                return r;
        printf("NODEOS-UPDATE: ROLLED BACK slot=%c image=%s counter=%llu reason=%s\n", t, id, (unsigned long long) counter, reason);
        return 0;
}

int update_boot_complete(const struct bootcount_options *o, char **error) {
        struct slots_ctx c;
        int r = ctx_open(o, true, &c, error);
        if (r >= 0)
                r = set_grubenv_good(&c, error);
        if (r >= 0)
                r = bless_entry(&c, error);
        if (r >= 0)
                r = check_rollback(&c, o->now ? o->now : time(NULL), error);
        _cleanup_free_ char *id = NULL;
        if (r >= 0)
                r = update_state_unstage(&c.st, c.booted, &id, error);
        if (r >= 0 && !id && !(id = running_image_id(c.root)) && c.es.slots[slot_index(c.booted)].image_id)
                id = strdup(c.es.slots[slot_index(c.booted)].image_id);
        if (r >= 0)
                r = esp_flush(&c, error);
        if (r >= 0)
                printf("NODEOS-UPDATE: GOOD slot=%c image=%s\n", c.booted, id ? id : "unknown");
        ctx_done(&c);
        return r;
}

/* --reason, else what the health check wrote, else a generic line. */
static char *failure_reason(const struct bootcount_options *o, const char *root) {
        _cleanup_free_ char *text = NULL;
        if (o->reason && *o->reason)
                return one_line(o->reason);
        if (read_file_in_root(root, HEALTH_FAILURE_FILE, &text, NULL) >= 0) {
                text[strcspn(text, "\n")] = 0;
                if (*text)
                        return one_line(text);
        }
        return strdup("the boot health check failed (no reason written to " HEALTH_FAILURE_FILE ")");
}

/* The entry of the running slot with no tries left: systemd-boot sorts it
 * last and never picks it again. */
static int mark_entry_bad(struct slots_ctx *c, char **error) {
        const struct slot_boot *b = &c->es.slots[slot_index(c->booted)];
        if (!b->entry)
                return 0;
        unsigned done = b->name.counted ? b->name.left + b->name.done : SLOT_TRIES;
        struct entry_name bad = { .slot = c->booted, .counted = true, .left = 0, .done = done ? done : SLOT_TRIES };
        _cleanup_free_ char *name = entry_name_format(&bad);
        if (!name)
                return -ENOMEM;
        if (STREQ(name, b->entry))
                return 0;
        int r = slot_entry_rename(&c->esp, b->entry, name);
        if (r < 0)
                return errorf(error, r, "cannot rename %s/loader/entries/%s to %s: %s", ESP_DIR, b->entry, name, chase_strerror(r));
        return 0;
}

int update_failed_boot(const struct bootcount_options *o, bool *ret_reboot, char **error) {
        struct slots_ctx c;
        *ret_reboot = false;
        int r = ctx_open(o, true, &c, error);
        if (r >= 0 && !slot_on_trial(&c.es, c.booted)) {
                printf("node-agent update: slot %c is not on trial (it was marked good): there is no slot to fall back to; "
                       "not rebooting\n", c.booted);
                ctx_done(&c);
                return 0;
        }
        _cleanup_free_ char *reason = r >= 0 ? failure_reason(o, c.root) : NULL, *id = NULL;
        if (r >= 0 && !reason)
                r = -ENOMEM;
        if (r >= 0)
                r = mark_entry_bad(&c, error);
        if (r >= 0 && c.es.grubenv && c.es.try_slot == c.booted)
                r = grubenv_set(&c.esp, (char *[]) { "nodeos_try_left=0", NULL }, error);
        if (r >= 0)
                r = esp_flush(&c, error);
        struct update_image img;
        if (r >= 0) {
                slot_image(&c, c.booted, &img);
                if (!img.image_id)
                        img.image_id = id = running_image_id(c.root);
                img.reason = reason;
                img.at = o->now ? o->now : time(NULL);
                if (img.image_id && (r = update_state_add_bad(&c.st, &img)) >= 0 && (r = update_state_save(&c.st)) < 0)
                        r = errorf(error, r, "cannot write %s: %s", UPDATE_STATE_FILE, chase_strerror(r));
        }
        if (r >= 0) {
                printf("NODEOS-UPDATE: BAD slot=%c image=%s reason=%s\n", c.booted, img.image_id ? img.image_id : "unknown", reason);
                *ret_reboot = true;
        }
        ctx_done(&c);
        return r;
}

int node_reboot(char **error) {
        struct exec_result er;
        int r = exec_run((char *[]) { "systemctl", "reboot", NULL }, 60000, &er);
        if (r < 0)
                return errorf(error, r, "cannot run systemctl reboot: %s", strerror(-r));
        if (er.status != 0) {
                _cleanup_free_ char *tail = exec_output_tail(er.output, 2);
                r = errorf(error, -EIO, "systemctl reboot failed (status %d): %s", er.status, strempty(tail));
        }
        exec_result_done(&er);
        return r;
}

/* ---- update --status ------------------------------------------------------ */

struct slot_view {
        enum slot_state state;
        unsigned left;
        bool staged;
        struct update_image img;
        const char *entry;
};

static void slot_view(const struct slots_ctx *c, char slot, struct slot_view *v) {
        struct update_image staged, bad;
        *v = (struct slot_view) { .entry = c->es.slots[slot_index(slot)].entry };
        v->state = slot_state(&c->es, slot, c->booted, &v->left);
        v->staged = update_state_staged(&c->st, &staged) && staged.slot == slot;
        slot_image(c, slot, &v->img);
        /* the running slot marked bad by --failed-boot reads like its last
         * try until the reboot: the bad list tells */
        if (v->state == SLOT_TRYING && v->img.image_id && update_state_find_bad(&c->st, v->img.image_id, &bad))
                v->state = SLOT_BAD;
}

static void print_image(const struct update_image *img) {
        if (!img->image_id) {
                fputs("no image", stdout);
                return;
        }
        printf("image %s (counter %llu%s%s)", img->image_id, (unsigned long long) img->counter, img->version ? ", " : "",
               strempty(img->version));
}

static void print_text(const struct slots_ctx *c) {
        printf("booted slot: %c\n", c->booted ? c->booted : '-');
        if (c->esp_error)
                printf("slots: unknown: %s\n", c->esp_error);
        for (char slot = 'a'; slot <= 'b' && !c->esp_error; slot++) {
                struct slot_view v;
                slot_view(c, slot, &v);
                printf("slot %c: %s", slot, slot_state_to_string(v.state));
                if (v.state == SLOT_TRYING)
                        printf(" (%u tries left)", v.left);
                printf("%s%s: ", slot == c->booted ? ", booted" : "", v.staged ? ", staged" : "");
                print_image(&v.img);
                printf("%s%s\n", v.entry ? ", entry " : "", strempty(v.entry));
        }
        if (c->es.good || c->es.try_slot)
                printf("grubenv: nodeos_good=%c nodeos_try=%c nodeos_try_left=%d\n", c->es.good ? c->es.good : '-',
                       c->es.try_slot ? c->es.try_slot : '-', c->es.try_left);
        size_t n = update_state_n_bad(&c->st);
        if (n > 0)
                puts("failed on this node (never staged again):");
        for (size_t i = 0; i < n; i++) {
                struct update_image bad;
                char when[32];
                update_state_bad_at(&c->st, i, &bad);
                fputs("  ", stdout);
                print_image(&bad);
                printf(" in slot %c on %s: %s\n", bad.slot ? bad.slot : '-', update_time_string(bad.at, when, sizeof(when)),
                       strempty(bad.reason));
        }
}

static cJSON *image_json(const struct update_image *img) {
        cJSON *o = cJSON_CreateObject();
        char slot[2] = { img->slot, 0 };
        if (!o)
                return NULL;
        if (img->slot)
                cJSON_AddStringToObject(o, "slot", slot);
        cJSON_AddItemToObject(o, "image_id", img->image_id ? cJSON_CreateString(img->image_id) : cJSON_CreateNull());
        cJSON_AddNumberToObject(o, "counter", (double) img->counter);
        cJSON_AddItemToObject(o, "version", img->version ? cJSON_CreateString(img->version) : cJSON_CreateNull());
        if (img->at)
                cJSON_AddNumberToObject(o, "at", (double) img->at);
        if (img->reason)
                cJSON_AddStringToObject(o, "reason", img->reason);
        return o;
}

static cJSON *status_json(const struct slots_ctx *c) {
        cJSON *j = cJSON_CreateObject(), *slots = cJSON_AddObjectToObject(j, "slots"), *bad = cJSON_AddArrayToObject(j, "bad");
        char booted[2] = { c->booted, 0 };
        cJSON_AddItemToObject(j, "booted", c->booted ? cJSON_CreateString(booted) : cJSON_CreateNull());
        cJSON_AddItemToObject(j, "esp_error", c->esp_error ? cJSON_CreateString(c->esp_error) : cJSON_CreateNull());
        for (char slot = 'a'; slot <= 'b' && !c->esp_error; slot++) {
                struct slot_view v;
                char name[2] = { slot, 0 };
                slot_view(c, slot, &v);
                cJSON *o = image_json(&v.img);
                cJSON_AddStringToObject(o, "state", slot_state_to_string(v.state));
                cJSON_AddItemToObject(o, "tries_left", v.state == SLOT_TRYING ? cJSON_CreateNumber(v.left) : cJSON_CreateNull());
                cJSON_AddBoolToObject(o, "booted", slot == c->booted);
                cJSON_AddBoolToObject(o, "staged", v.staged);
                cJSON_AddItemToObject(o, "entry", v.entry ? cJSON_CreateString(v.entry) : cJSON_CreateNull());
                cJSON_AddItemToObject(slots, name, o);
        }
        for (size_t i = 0; i < update_state_n_bad(&c->st); i++) {
                struct update_image img;
                update_state_bad_at(&c->st, i, &img);
                cJSON_AddItemToArray(bad, image_json(&img));
        }
        return j;
}

int update_status_print(const struct bootcount_options *o, bool json) {
        struct slots_ctx c;
        _cleanup_free_ char *error = NULL;
        int r = ctx_open(o, false, &c, &error);
        if (r < 0) {
                fprintf(stderr, "node-agent: update --status: %s\n", error ? error : strerror(-r));
                ctx_done(&c);
                return 1;
        }
        if (json) {
                cJSON *j = status_json(&c);
                _cleanup_free_ char *text = j ? cJSON_Print(j) : NULL;
                cJSON_Delete(j);
                if (!text)
                        r = -ENOMEM;
                else
                        puts(text);
        } else
                print_text(&c);
        ctx_done(&c);
        return r < 0 ? 1 : 0;
}

char *update_status_line(const char *root, const char *cmdline_path) {
        struct bootcount_options o = { .root = root, .cmdline_path = cmdline_path };
        struct slots_ctx c;
        char *line = NULL, booted = 0;
        /* not a slot boot (PXE, a test tree): no line, and neither update.json
         * nor the ESP read; say nothing of an error either */
        if (slot_booted(cmdline_path, &booted, NULL) < 0 || !booted)
                return NULL;
        if (ctx_open(&o, false, &c, NULL) >= 0 && c.booted && !c.esp_error) {
                struct slot_view v[2];
                slot_view(&c, 'a', &v[0]);
                slot_view(&c, 'b', &v[1]);
                char part[2][64];
                for (int i = 0; i < 2; i++) {
                        char left[32] = "";
                        if (v[i].state == SLOT_TRYING)
                                snprintf(left, sizeof(left), " (%u tries left)", v[i].left);
                        snprintf(part[i], sizeof(part[i]), "%c %s%s%s", 'a' + i, slot_state_to_string(v[i].state), left,
                                 v[i].staged ? ", staged" : "");
                }
                if (asprintf(&line, "booted %c; %s; %s (node-agent update --status)", c.booted, part[0], part[1]) < 0)
                        line = NULL;
        }
        ctx_done(&c);
        return line;
}
