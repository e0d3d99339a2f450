/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "shared/bundle.h"

void update_manifest_done(struct update_manifest *m) {
        free(m->role);
        free(m->profile);
        free(m->image_id);
        free(m->version);
        free(m->boot_options);
        for (size_t i = 0; i < m->n_files; i++)
                free(m->files[i].name);
        free(m->files);
        *m = (struct update_manifest) {};
}

static bool all_of(const char *s, const char *set, size_t len) {
        return strlen(s) == len && strspn(s, set) == len;
}

/* "2027-01-05T00:00:00Z" -> seconds; -1 when not that form */
static time_t parse_utc(const char *s) {
        struct tm tm = {};
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return end && !*end ? timegm(&tm) : (time_t) -1;
}

static bool is_count(const cJSON *v) {
        return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9007199254740992.0 &&
               v->valuedouble == (double) (uint64_t) v->valuedouble;
}

/* verity_offset: with verity_root and only with it; where the hash tree
 * starts, so in the file, 4 KiB aligned (the tree's block size). */
static int parse_verity_offset(const cJSON *f, const char *name, bool has_root, uint64_t size, uint64_t *ret, char **error) {
        const cJSON *vo = cJSON_GetObjectItemCaseSensitive(f, "verity_offset");
        if (!vo && has_root)
                return errorf(error, -EBADMSG, "files.%s.verity_offset: required with verity_root", name);
        if (vo && !has_root)
                return errorf(error, -EBADMSG, "files.%s.verity_offset: only with verity_root", name);
        if (!vo)
                return 0;
        if (!is_count(vo) || vo->valuedouble < 1 || (uint64_t) vo->valuedouble % 4096 != 0 ||
            (uint64_t) vo->valuedouble >= size)
                return errorf(error, -EBADMSG, "files.%s.verity_offset: want a multiple of 4096 above 0 and below the size %llu",
                              name, (unsigned long long) size);
        *ret = (uint64_t) vo->valuedouble;
        return 0;
}

static int parse_files(const cJSON *files, struct update_manifest *m, char **error) {
        if (!cJSON_IsObject(files) || !files->child)
                return errorf(error, -EBADMSG, "files: want an object of file name -> {size, sha256}, not empty");
        size_t n = (size_t) cJSON_GetArraySize(files);
        if (!(m->files = calloc(n, sizeof(*m->files))))
                return -ENOMEM;
        const cJSON *f;
        cJSON_ArrayForEach(f, files) {
                struct update_file *uf = &m->files[m->n_files];
                const char *name = f->string;
                /* a plain file name: the bundle is flat, and a name is never a path */
                if (!name || !*name || strchr(name, '/') || STREQ(name, ".") || STREQ(name, "..") ||
                    STREQ(name, "manifest.json") || STREQ(name, "manifest.json.sig"))
                        return errorf(error, -EBADMSG, "files: '%s' is not a payload file name", name ? name : "");
                for (size_t i = 0; i < m->n_files; i++)
                        if (STREQ(m->files[i].name, name))
                                return errorf(error, -EBADMSG, "files.%s: listed twice", name);
                const cJSON *v;
                cJSON_ArrayForEach(v, f)
                        if (!STREQ(v->string, "size") && !STREQ(v->string, "sha256") && !STREQ(v->string, "verity_root") &&
                            !STREQ(v->string, "verity_offset"))
                                return errorf(error, -EBADMSG, "files.%s: unknown field '%s'", name, v->string);
                const cJSON *size = cJSON_GetObjectItemCaseSensitive(f, "size");
                const cJSON *sha = cJSON_GetObjectItemCaseSensitive(f, "sha256");
                if (!is_count(size))
                        return errorf(error, -EBADMSG, "files.%s.size: want a byte count", name);
                if (!cJSON_IsString(sha) || !all_of(sha->valuestring, "0123456789abcdef", 64))
                        return errorf(error, -EBADMSG, "files.%s.sha256: want 64 lowercase hex digits", name);
                const cJSON *vr = cJSON_GetObjectItemCaseSensitive(f, "verity_root");
                if (vr && (!cJSON_IsString(vr) || !all_of(vr->valuestring, "0123456789abcdef", 64)))
                        return errorf(error, -EBADMSG, "files.%s.verity_root: want 64 lowercase hex digits", name);
                uf->size = (uint64_t) size->valuedouble;
                int r = parse_verity_offset(f, name, vr != NULL, uf->size, &uf->verity_offset, error);
                if (r < 0)
                        return r;
                if (vr)
                        memcpy(uf->verity_root, vr->valuestring, 65);
                if (!(uf->name = strdup(name)))
                        return -ENOMEM;
                memcpy(uf->sha256, sha->valuestring, 65);
                m->n_files++;
        }
        return 0;
}

/* Printable ASCII only: the options end up on one line of a boot entry
 * and of a GRUB menu entry, where a newline or a NUL would cut them. */
static int parse_boot_options(const cJSON *v, char **ret, char **error) {
        if (!cJSON_IsString(v))
                return errorf(error, -EBADMSG, "boot_options: want a string (may be empty)");
        size_t l = strlen(v->valuestring);
        if (l > BOOT_OPTIONS_MAX)
                return errorf(error, -EBADMSG, "boot_options: %zu bytes, at most %d", l, BOOT_OPTIONS_MAX);
        for (const char *p = v->valuestring; *p; p++)
                if (*p < 0x20 || *p > 0x7e)
                        return errorf(error, -EBADMSG, "boot_options: byte 0x%02x at %zu is not printable ASCII",
                                      (unsigned char) *p, (size_t) (p - v->valuestring));
        *ret = strdup(v->valuestring);
        return *ret ? 0 : -ENOMEM;
}

int update_manifest_parse(const char *text, size_t len, struct update_manifest *ret, char **error) {
        static const char * const fields[] = { "format", "role", "profile", "image_id", "version", "counter", "expires",
                                               "boot_options", "files", NULL };
        cJSON *j = cJSON_ParseWithLength(text, len);
        struct update_manifest m = {};
        int r = 0;
        if (!cJSON_IsObject(j)) {
                r = errorf(error, -EBADMSG, "not a JSON object");
                goto out;
        }
        const cJSON *v;
        cJSON_ArrayForEach(v, j)
                if (!strv_contains((char **) fields, v->string)) {
                        r = errorf(error, -EBADMSG, "unknown field '%s'", v->string);
                        goto out;
                }
        const cJSON *format = cJSON_GetObjectItemCaseSensitive(j, "format");
        if (!cJSON_IsNumber(format) || format->valuedouble != 1) {
                r = errorf(error, -EBADMSG, "format: this agent reads format 1");
                goto out;
        }
        static const char * const strings[] = { "role", "profile", "image_id", "version", "expires" };
        char **dest[] = { &m.role, &m.profile, &m.image_id, &m.version, NULL };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, strings[i]);
                if (!cJSON_IsString(s) || !*s->valuestring) {
                        r = errorf(error, -EBADMSG, "%s: want a non-empty string", strings[i]);
                        goto out;
                }
                if (dest[i] && !(*dest[i] = strdup(s->valuestring))) {
                        r = -ENOMEM;
                        goto out;
                }
                if (STREQ(strings[i], "expires") && (m.expires = parse_utc(s->valuestring)) == (time_t) -1) {
                        r = errorf(error, -EBADMSG, "expires: want UTC as 2027-01-05T00:00:00Z, got '%s'", s->valuestring);
                        goto out;
                }
        }
        if (!all_of(m.image_id, "0123456789abcdef", 16)) {
                r = errorf(error, -EBADMSG, "image_id: want 16 lowercase hex digits");
                goto out;
        }
        const cJSON *counter = cJSON_GetObjectItemCaseSensitive(j, "counter");
        if (!is_count(counter) || counter->valuedouble < 1) {
                r = errorf(error, -EBADMSG, "counter: want a positive integer");
                goto out;
        }
        m.counter = (uint64_t) counter->valuedouble;
        r = parse_boot_options(cJSON_GetObjectItemCaseSensitive(j, "boot_options"), &m.boot_options, error);
        if (r < 0)
                goto out;
        r = parse_files(cJSON_GetObjectItemCaseSensitive(j, "files"), &m, error);
out:
        cJSON_Delete(j);
        if (r < 0)
                update_manifest_done(&m);
        else
                *ret = m;
        return r;
}

