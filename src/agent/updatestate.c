/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include "agent/state.h"
#include "agent/updatestate.h"
#include "basic/chase.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"

int update_lock(const char *root, int *ret_fd) {
        int fd = -EBADF;
        int r = mkdir_in_root(root, STATE_DIR, 0755, &fd);
        if (r < 0)
                return r;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno == EWOULDBLOCK ? -EBUSY : negative_errno();
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

int update_state_load(const char *root, struct update_state *ret) {
        _cleanup_free_ char *text = NULL;
        struct update_state s = { .root = strdup(root ? root : "/") };
        if (!s.root)
                return -ENOMEM;
        int r = read_file_in_root(root, UPDATE_STATE_FILE, &text, NULL);
        if (r >= 0) {
                s.json = cJSON_Parse(text);
                if (!cJSON_IsObject(s.json)) {
                        log_warning("%s: not a JSON object: starting over (the list of failed images is lost)", UPDATE_STATE_FILE);
                        cJSON_Delete(s.json);
                        s.json = NULL;
                }
        } else if (r != -ENOENT)
                log_warning("cannot read %s: %s: starting over", UPDATE_STATE_FILE, strerror(-r));
        if (!s.json && !(s.json = cJSON_CreateObject())) {
                free(s.root);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

void update_state_done(struct update_state *s) {
        cJSON_Delete(s->json);
        free(s->root);
        *s = (struct update_state) {};
}

int update_state_unstage(struct update_state *s, char slot, char **ret_id, char **error) {
        struct update_image img;
        if (ret_id)
                *ret_id = NULL;
        if (!update_state_staged(s, &img) || img.slot != slot)
                return 0;
        if (ret_id && img.image_id && !(*ret_id = strdup(img.image_id)))
                return -ENOMEM;
        int r = update_state_set_staged(s, NULL);
        if (r >= 0)
                r = update_state_save(s);
        return r < 0 ? errorf(error, r, "cannot write %s: %s", UPDATE_STATE_FILE, chase_strerror(r)) : 0;
}

int update_state_save(struct update_state *s) {
        _cleanup_free_ char *text = cJSON_Print(s->json);
        if (!text)
                return -ENOMEM;
        return write_file_atomic(s->root, UPDATE_STATE_FILE, text, strlen(text), 0600, -1, -1, NULL);
}

static const char *str(const cJSON *o, const char *key) {
        return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static double num(const cJSON *o, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void image_from_json(const cJSON *o, struct update_image *ret) {
        const char *slot = str(o, "slot");
        *ret = (struct update_image) {
                .slot = slot && (STREQ(slot, "a") || STREQ(slot, "b")) ? slot[0] : 0,
                .image_id = str(o, "image_id"),
                .version = str(o, "version"),
                .reason = str(o, "reason"),
                .counter = (uint64_t) num(o, "counter"),
                .at = (time_t) num(o, "at"),
        };
}

static cJSON *image_to_json(const struct update_image *img) {
        cJSON *o = cJSON_CreateObject();
        char slot[2] = { img->slot, 0 };
        if (!o)
                return NULL;
        bool ok = (!img->slot || cJSON_AddStringToObject(o, "slot", slot)) &&
                  (!img->image_id || cJSON_AddStringToObject(o, "image_id", img->image_id)) &&
                  cJSON_AddNumberToObject(o, "counter", (double) img->counter) &&
                  (!img->version || cJSON_AddStringToObject(o, "version", img->version)) &&
                  cJSON_AddNumberToObject(o, "at", (double) img->at) &&
                  (!img->reason || cJSON_AddStringToObject(o, "reason", img->reason));
        if (!ok) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

bool update_state_staged(const struct update_state *s, struct update_image *ret) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(s->json, "staged");
        if (!cJSON_IsObject(o))
                return false;
        image_from_json(o, ret);
        return ret->slot != 0;
}

int update_state_set_staged(struct update_state *s, const struct update_image *img) {
        cJSON *o = NULL;
        if (img && !(o = image_to_json(img)))
                return -ENOMEM;
        cJSON_DeleteItemFromObjectCaseSensitive(s->json, "staged");
        if (o)
                cJSON_AddItemToObject(s->json, "staged", o);
        return 0;
}

static cJSON *bad_list(const struct update_state *s) {
        cJSON *l = cJSON_GetObjectItemCaseSensitive(s->json, "bad");
        return cJSON_IsArray(l) ? l : NULL;
}

size_t update_state_n_bad(const struct update_state *s) {
        const cJSON *l = bad_list(s);
        return l ? (size_t) cJSON_GetArraySize(l) : 0;
}

void update_state_bad_at(const struct update_state *s, size_t i, struct update_image *ret) {
        image_from_json(cJSON_GetArrayItem(bad_list(s), (int) i), ret);
}

static bool same_image(const struct update_image *rec, const char *image_id) {
        return rec->image_id && STREQ(rec->image_id, image_id);
}

bool update_state_find_bad(const struct update_state *s, const char *image_id, struct update_image *ret) {
        for (size_t i = 0; i < update_state_n_bad(s); i++) {
                update_state_bad_at(s, i, ret);
                if (same_image(ret, image_id))
                        return true;
        }
        return false;
}

int update_state_add_bad(struct update_state *s, const struct update_image *img) {
        /* first: IMG's strings may be borrowed from the record it replaces */
        cJSON *o = image_to_json(img);
        if (!o)
                return -ENOMEM;
        cJSON *l = bad_list(s);
        if (!l) {
                cJSON_DeleteItemFromObjectCaseSensitive(s->json, "bad");
                if (!(l = cJSON_AddArrayToObject(s->json, "bad"))) {
                        cJSON_Delete(o);
                        return -ENOMEM;
                }
        }
        for (int i = cJSON_GetArraySize(l) - 1; i >= 0 && img->image_id; i--) {
                struct update_image rec;
                image_from_json(cJSON_GetArrayItem(l, i), &rec);
                if (same_image(&rec, img->image_id))
                        cJSON_DeleteItemFromArray(l, i);
        }
        cJSON_AddItemToArray(l, o);
        return 0;
}

const char *update_time_string(time_t t, char *buf, size_t size) {
        struct tm tm;
        if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, size, "%lld", (long long) t);
        return buf;
}
