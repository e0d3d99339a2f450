/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <cjson/cJSON.h>
#include "agent/bootcount.h"
#include "agent/state.h"
#include "agent/status.h"
#include "basic/fileio.h"
#include "basic/macro.h"

static const char *str_or(const cJSON *o, const char *key, const char *dflt) {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
        return v ? v : dflt;
}

static int exit_for(const char *result) {
        if (STREQ(result, "success"))
                return 0;
        if (STREQ(result, "failed"))
                return 1;
        if (STREQ(result, "never-ran"))
                return 3;
        return 2;
}

static void print_table(const cJSON *st, const char *result, const char *slots) {
        printf("node-agent: %s\n", STREQ(result, "running") ? "running (or interrupted)" : result);
        printf("instance:   %s\nrole:       %s\n", str_or(st, "instance_id", "-"), str_or(st, "role", "-"));
        if (slots)
                printf("slots:      %s\n", slots);
        const cJSON *steps = cJSON_GetObjectItem(st, "steps");
        if (cJSON_GetArraySize(steps) > 0) {
                printf("\n%-34s %-8s %9s  %s\n", "STEP", "STATUS", "ELAPSED", "DETAIL");
                const cJSON *s;
                cJSON_ArrayForEach(s, steps)
                        printf("%-34s %-8s %6.0f ms  %s\n", s->string, str_or(s, "status", "?"),
                               cJSON_GetNumberValue(cJSON_GetObjectItem(s, "elapsed_ms")), str_or(s, "detail", ""));
        }
        const char *err = cJSON_GetStringValue(cJSON_GetObjectItem(st, "error"));
        if (err)
                printf("\nerror: %s\n", err);
}

int status_print(const char *root, const char *cmdline_path, int json) {
        _cleanup_free_ char *text = NULL, *slots = update_status_line(root, cmdline_path);
        cJSON *st = NULL;
        if (read_file_in_root(root, STATE_DIR "/state.json", &text, NULL) >= 0)
                st = cJSON_Parse(text);
        if (!st)
                st = cJSON_CreateObject();
        const char *result = str_or(st, "result", "never-ran");
        int code = exit_for(result);
        if (json) {
                cJSON_DeleteItemFromObject(st, "result");
                cJSON_AddStringToObject(st, "result", result);
                if (slots)
                        cJSON_AddStringToObject(st, "slots", slots);
                char *out = cJSON_Print(st);
                if (out)
                        puts(out);
                free(out);
        } else
                print_table(st, result, slots);
        cJSON_Delete(st);
        return code;
}
