/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "agent/state.h"
#include "basic/chase.h"
#include "basic/fileio.h"
#include "basic/macro.h"

static int read_state_file(const struct state *s, const char *name, char **ret) {
        _cleanup_free_ char *rel = NULL;
        if (asprintf(&rel, STATE_DIR "/%s", name) < 0)
                return -ENOMEM;
        return read_file_in_root(s->root, rel, ret, NULL);
}

int state_load(const char *root, struct state *s) {
        _cleanup_free_ char *text = NULL;
        *s = (struct state) { .root = strdup(root ? root : "/") };
        if (!s->root)
                return -ENOMEM;
        int r = read_state_file(s, "state.json", &text);
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                s->json = cJSON_Parse(text);
        if (!s->json || !cJSON_IsObject(s->json)) {
                /* Unreadable or torn state: start over; every step is idempotent. */
                cJSON_Delete(s->json);
                s->json = cJSON_CreateObject();
        }
        return s->json ? 0 : -ENOMEM;
}

void state_done(struct state *s) {
        cJSON_Delete(s->json);
        free(s->root);
        *s = (struct state) {};
}

static int state_save(struct state *s) {
        cJSON_DeleteItemFromObject(s->json, "updated");
        cJSON_AddNumberToObject(s->json, "updated", (double) time(NULL));
        _cleanup_free_ char *text = cJSON_Print(s->json);
        if (!text)
                return -ENOMEM;
        return write_file_atomic(s->root, STATE_DIR "/state.json", text, strlen(text), 0644, -1, -1, NULL);
}

static void set_string(cJSON *o, const char *key, const char *value) {
        cJSON_DeleteItemFromObject(o, key);
        if (value)
                cJSON_AddStringToObject(o, key, value);
}

static int remove_sentinel(struct state *s, const char *name) {
        _cleanup_close_ int dir = -EBADF;
        int r = chase(s->root, STATE_DIR, 0, 0, &dir, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (unlinkat(dir, name, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

const char *state_instance_id(const struct state *s) {
        return cJSON_GetStringValue(cJSON_GetObjectItem(s->json, "instance_id"));
}

int state_begin(struct state *s, const char *instance_id, const char *role) {
        const char *old = state_instance_id(s);
        if (!old || !STREQ(old, instance_id)) {
                cJSON_Delete(s->json);
                s->json = cJSON_CreateObject();
                if (!s->json)
                        return -ENOMEM;
                int r = remove_sentinel(s, "success");
                if (r < 0)
                        return r;
        }
        set_string(s->json, "instance_id", instance_id);
        set_string(s->json, "role", role);
        set_string(s->json, "result", "running");
        set_string(s->json, "error", NULL);
        if (!cJSON_GetObjectItem(s->json, "steps"))
                cJSON_AddObjectToObject(s->json, "steps");
        int r = remove_sentinel(s, "failed");
        if (r < 0)
                return r;
        return state_save(s);
}

static const char * const status_names[] = {
        [STEP_PENDING] = "pending", [STEP_DONE] = "done", [STEP_SKIPPED] = "skipped", [STEP_FAILED] = "failed",
};

const char *step_status_to_string(enum step_status st) {
        return status_names[st];
}

const char *state_role(const struct state *s) {
        return cJSON_GetStringValue(cJSON_GetObjectItem(s->json, "role"));
}

enum step_status state_step_status(const struct state *s, const char *step) {
        cJSON *rec = cJSON_GetObjectItem(cJSON_GetObjectItem(s->json, "steps"), step);
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "status"));
        for (size_t i = 0; v && i < ELEMENTSOF(status_names); i++)
                if (STREQ(v, status_names[i]))
                        return (enum step_status) i;
        return STEP_PENDING;
}

const char *state_step_digest(const struct state *s, const char *step) {
        cJSON *rec = cJSON_GetObjectItem(cJSON_GetObjectItem(s->json, "steps"), step);
        return cJSON_GetStringValue(cJSON_GetObjectItem(rec, "inputs"));
}

int state_set_step_digest(struct state *s, const char *step, const char *digest) {
        cJSON *rec = cJSON_GetObjectItem(cJSON_GetObjectItem(s->json, "steps"), step);
        if (!rec)
                return -ENOENT;
        set_string(rec, "inputs", digest);
        return state_save(s);
}

int state_record_step(struct state *s, const char *step, enum step_status st, long long elapsed_ms, const char *detail) {
        cJSON *steps = cJSON_GetObjectItem(s->json, "steps");
        if (!steps)
                steps = cJSON_AddObjectToObject(s->json, "steps");
        cJSON *rec = cJSON_CreateObject();
        if (!steps || !rec)
                return -ENOMEM;
        cJSON_AddStringToObject(rec, "status", step_status_to_string(st));
        cJSON_AddNumberToObject(rec, "elapsed_ms", (double) elapsed_ms);
        cJSON_AddNumberToObject(rec, "at", (double) time(NULL));
        if (detail)
                cJSON_AddStringToObject(rec, "detail", detail);
        if (cJSON_GetObjectItem(steps, step))
                cJSON_ReplaceItemInObject(steps, step, rec);
        else
                cJSON_AddItemToObject(steps, step, rec);
        return state_save(s);
}

int state_finish(struct state *s, bool ok, const char *reason) {
        const char *id = state_instance_id(s);
        const char *role = cJSON_GetStringValue(cJSON_GetObjectItem(s->json, "role"));
        _cleanup_free_ char *line = NULL;
        set_string(s->json, "result", ok ? "success" : "failed");
        set_string(s->json, "error", ok ? NULL : reason);
        int r = state_save(s);
        if (r < 0)
                return r;
        if (ok)
                r = asprintf(&line, "instance=%s role=%s at=%lld\n", id ? id : "?", role ? role : "?", (long long) time(NULL));
        else
                r = asprintf(&line, "%s\n", reason ? reason : "unknown error");
        if (r < 0)
                return -ENOMEM;
        r = remove_sentinel(s, ok ? "failed" : "success");
        if (r < 0)
                return r;
        return write_file_atomic(s->root, ok ? STATE_DIR "/success" : STATE_DIR "/failed",
                                 line, strlen(line), 0644, -1, -1, NULL);
}

bool state_is_complete(const struct state *s, const char *instance_id) {
        _cleanup_free_ char *text = NULL, *want = NULL;
        if (read_state_file(s, "success", &text) < 0)
                return false;
        if (asprintf(&want, "instance=%s ", instance_id) < 0)
                return false;
        return strncmp(text, want, strlen(want)) == 0;
}
