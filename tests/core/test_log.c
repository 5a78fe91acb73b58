/* Tests of core/log.c: JSON and human lines, level filtering, fields, thread safety. */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/log.h"
#include "sm_test.h"

/* Everything written to f so far, as a malloc'ed string. */
static char *slurp(FILE *f)
{
    fflush(f);
    fseek(f, 0, SEEK_END); /* the logger writes to the descriptor: ask it, not the cache */
    long n = ftell(f);
    char *buf = calloc(1, (size_t)n + 1);
    rewind(f);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    return buf;
}

/* Splits text into lines (modifies it); returns the count, at most max. */
static size_t split_lines(char *text, char **lines, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < max;
         l = strtok_r(NULL, "\n", &save)) {
        lines[n++] = l;
    }
    return n;
}

static void restore_default(void)
{
    sm_log_setup(SM_LOG_INFO, SM_LOG_AUTO, NULL);
}

static void test_log_json_line_has_ts_level_component_msg(void)
{
    FILE *f = tmpfile();
    sm_log_setup(SM_LOG_INFO, SM_LOG_JSON, f);
    sm_log_info("produce", "connected to %s:%d", "127.0.0.1", 40123);
    char *text = slurp(f);
    CU_ASSERT_EQUAL(text[strlen(text) - 1], '\n');
    CU_ASSERT_PTR_EQUAL(strchr(text, '\n'), text + strlen(text) - 1); /* exactly one line */

    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "level")), "info");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "component")), "produce");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "msg")),
                           "connected to 127.0.0.1:40123");
    const char *ts = json_string_value(json_object_get(j, "ts"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(ts);
    CU_ASSERT_EQUAL(strlen(ts), 24);
    CU_ASSERT_EQUAL(ts[10], 'T');
    CU_ASSERT_EQUAL(ts[23], 'Z');
    /* Keys in the documented order, compact. */
    CU_ASSERT_EQUAL(strncmp(text, "{\"ts\":\"", 7), 0);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "\",\"level\":\"info\",\"component\":\"produce\",\"msg\":"));
    json_decref(j);
    free(text);
    fclose(f);
    restore_default();
}

static void test_log_level_filtering_drops_lower_levels(void)
{
    FILE *f = tmpfile();
    sm_log_setup(SM_LOG_WARN, SM_LOG_JSON, f);
    CU_ASSERT_TRUE(sm_log_enabled(SM_LOG_ERROR));
    CU_ASSERT_TRUE(sm_log_enabled(SM_LOG_WARN));
    CU_ASSERT_FALSE(sm_log_enabled(SM_LOG_INFO));
    CU_ASSERT_FALSE(sm_log_enabled(SM_LOG_DEBUG));
    sm_log_debug("c", "debug");
    sm_log_info("c", "info");
    sm_log_warn("c", "warn");
    sm_log_error("c", "error");
    sm_log_fields(SM_LOG_INFO, "c", NULL, "info fields");
    char *text = slurp(f);
    char *lines[8];
    size_t n = split_lines(text, lines, 8);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(lines[0], "\"level\":\"warn\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(lines[1], "\"level\":\"error\""));
    free(text);
    fclose(f);

    f = tmpfile();
    sm_log_setup(SM_LOG_DEBUG, SM_LOG_JSON, f);
    CU_ASSERT_TRUE(sm_log_enabled(SM_LOG_DEBUG));
    CU_ASSERT_FALSE(sm_log_enabled((sm_log_level)7)); /* outside the enum: never */
    sm_log_debug("c", "now shown");
    text = slurp(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"level\":\"debug\""));
    free(text);
    fclose(f);
    restore_default();
}

static void test_log_fields_are_members_of_the_json_line(void)
{
    FILE *f = tmpfile();
    sm_log_setup(SM_LOG_INFO, SM_LOG_JSON, f);
    json_t *fields =
        json_pack("{s:I, s:f, s:s, s:b, s:{s:i}, s:s}", "batch", (json_int_t)42, "rate", 1.5,
                  "table", "silver_orders", "ok", 1, "nested", "rows", 7, "level", "not the level");
    sm_log_fields(SM_LOG_INFO, "engine", fields, "batch done");
    json_decref(fields);
    char *text = slurp(f);
    json_t *j = json_loads(text, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "msg")), "batch done");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "batch")), 42);
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(j, "rate")), 1.5, 1e-9);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "table")), "silver_orders");
    CU_ASSERT_TRUE(json_is_true(json_object_get(j, "ok")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(j, "nested"), "rows")), 7);
    /* A field cannot overwrite the line's own keys. */
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "level")), "info");
    json_decref(j);
    free(text);
    fclose(f);
    restore_default();
}

static void test_log_human_line_format(void)
{
    FILE *f = tmpfile();
    sm_log_setup(SM_LOG_INFO, SM_LOG_HUMAN, f);
    CU_ASSERT_TRUE(sm_log_is_human());
    sm_log_info("produce", "connected to %s", "127.0.0.1:40123");
    sm_log_error("produce", "lost");
    char *text = slurp(f);
    char *lines[4];
    size_t n = split_lines(text, lines, 4);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    /* "HH:MM:SS.mmm INFO  produce: connected to 127.0.0.1:40123" */
    const char *l = lines[0];
    CU_ASSERT_TRUE(isdigit((unsigned char)l[0]) && isdigit((unsigned char)l[1]));
    CU_ASSERT_EQUAL(l[2], ':');
    CU_ASSERT_EQUAL(l[5], ':');
    CU_ASSERT_EQUAL(l[8], '.');
    CU_ASSERT_TRUE(isdigit((unsigned char)l[9]) && isdigit((unsigned char)l[11]));
    CU_ASSERT_STRING_EQUAL(l + 12, " INFO  produce: connected to 127.0.0.1:40123");
    CU_ASSERT_STRING_EQUAL(lines[1] + 12, " ERROR produce: lost");
    free(text);
    fclose(f);
    restore_default();
}

static void test_log_human_shows_fields_as_key_value(void)
{
    FILE *f = tmpfile();
    sm_log_setup(SM_LOG_DEBUG, SM_LOG_HUMAN, f);
    json_t *fields = json_pack("{s:I, s:s, s:s, s:b, s:[i,i]}", "rows", (json_int_t)1000, "table",
                               "bronze_orders", "reason", "not json", "late", 0, "parts", 1, 2);
    sm_log_fields(SM_LOG_DEBUG, "engine", fields, "batch 3");
    json_decref(fields);
    char *text = slurp(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " DEBUG engine: batch 3 rows=1000 table=bronze_orders "
                                        "reason=\"not json\" late=false parts=[1,2]\n"));
    free(text);
    fclose(f);
    restore_default();
}

static void test_log_invalid_utf8_still_gives_valid_json(void)
{
    FILE *f = tmpfile();
    sm_log_setup(SM_LOG_INFO, SM_LOG_JSON, f);
    sm_log_warn("decode", "bad key %s end", "\xff\xfe\xc3(ok \xc3\xa9");
    char *text = slurp(f);
    json_t *j = json_loads(text, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "msg")),
                           "bad key \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD(ok \xc3\xa9 end");
    json_decref(j);
    free(text);
    fclose(f);
    restore_default();
}

static void test_log_utf8_is_kept_and_every_invalid_form_replaced(void)
{
    FILE *f = tmpfile();
    sm_log_setup(SM_LOG_INFO, SM_LOG_JSON, f);
    /* valid 2-, 3- and 4-byte sequences; then overlong, surrogate, out of range, cut short */
    sm_log_info("c", "%s",
                "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xe0\x80\x80|\xed\xa0\x80|"
                "\xf4\x90\x80\x80|\xc0\xaf|\xf0\x9f");
    char *text = slurp(f);
    json_t *j = json_loads(text, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    const char *msg = json_string_value(json_object_get(j, "msg"));
#define R "\xEF\xBF\xBD"
    CU_ASSERT_STRING_EQUAL(msg, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|" R R R "|" R R R "|" R R R R
                                "|" R R "|" R R);
#undef R
    json_decref(j);
    free(text);
    fclose(f);
    restore_default();
}

static void test_log_long_message_is_written_whole(void)
{
    FILE *f = tmpfile();
    sm_log_setup(SM_LOG_INFO, SM_LOG_JSON, f);
    char *big = malloc(10001);
    memset(big, 'x', 10000);
    big[10000] = '\0';
    sm_log_info("c", "%s", big);
    char *text = slurp(f);
    json_t *j = json_loads(text, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "msg")), big);
    json_decref(j);
    free(text);
    free(big);
    fclose(f);
    restore_default();
}

static void test_log_null_component_is_left_out(void)
{
    FILE *f = tmpfile();
    sm_log_setup(SM_LOG_INFO, SM_LOG_JSON, f);
    sm_log_info(NULL, "plain");
    char *text = slurp(f);
    json_t *j = json_loads(text, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_PTR_NULL(json_object_get(j, "component"));
    json_decref(j);
    free(text);
    fclose(f);
    restore_default();
}

static void test_log_auto_on_a_file_is_json(void)
{
    sm_log_setup((sm_log_level)42, SM_LOG_JSON, NULL); /* clamped to debug; stderr */
    CU_ASSERT_TRUE(sm_log_enabled(SM_LOG_DEBUG));
    FILE *f = tmpfile();
    sm_log_setup(SM_LOG_INFO, SM_LOG_AUTO, f);
    CU_ASSERT_FALSE(sm_log_is_human());
    sm_log_setup(SM_LOG_INFO, SM_LOG_JSON, f);
    CU_ASSERT_FALSE(sm_log_is_human());
    sm_log_setup(SM_LOG_INFO, SM_LOG_HUMAN, f);
    CU_ASSERT_TRUE(sm_log_is_human());
    fclose(f);
    restore_default();
}

static void test_log_level_and_format_parse(void)
{
    sm_log_level l;
    CU_ASSERT_EQUAL(sm_log_level_parse("error", &l), 0);
    CU_ASSERT_EQUAL(l, SM_LOG_ERROR);
    CU_ASSERT_EQUAL(sm_log_level_parse("warn", &l), 0);
    CU_ASSERT_EQUAL(l, SM_LOG_WARN);
    CU_ASSERT_EQUAL(sm_log_level_parse("INFO", &l), 0);
    CU_ASSERT_EQUAL(l, SM_LOG_INFO);
    CU_ASSERT_EQUAL(sm_log_level_parse("debug", &l), 0);
    CU_ASSERT_EQUAL(l, SM_LOG_DEBUG);
    CU_ASSERT_EQUAL(sm_log_level_parse("Warning", &l), 0);
    CU_ASSERT_EQUAL(l, SM_LOG_WARN);
    CU_ASSERT_EQUAL(sm_log_level_parse("verbose", &l), -1);
    CU_ASSERT_EQUAL(sm_log_level_parse("", &l), -1);
    CU_ASSERT_EQUAL(sm_log_level_parse(NULL, &l), -1);

    sm_log_format fmt;
    CU_ASSERT_EQUAL(sm_log_format_parse("auto", &fmt), 0);
    CU_ASSERT_EQUAL(fmt, SM_LOG_AUTO);
    CU_ASSERT_EQUAL(sm_log_format_parse("human", &fmt), 0);
    CU_ASSERT_EQUAL(fmt, SM_LOG_HUMAN);
    CU_ASSERT_EQUAL(sm_log_format_parse("json", &fmt), 0);
    CU_ASSERT_EQUAL(fmt, SM_LOG_JSON);
    CU_ASSERT_EQUAL(sm_log_format_parse("xml", &fmt), -1);
    CU_ASSERT_EQUAL(sm_log_format_parse(NULL, &fmt), -1);
}

#define LOG_THREADS 4
#define LOG_LINES   500

static void *log_many(void *arg)
{
    long id = (long)arg;
    char pad[300];
    memset(pad, 'a' + (int)id, sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < LOG_LINES; i++) {
        sm_log_info("thread", "t%ld line %d %s", id, i, pad);
    }
    return NULL;
}

static void test_log_lines_from_threads_never_interleave(void)
{
    FILE *f = tmpfile();
    sm_log_setup(SM_LOG_INFO, SM_LOG_JSON, f);
    pthread_t th[LOG_THREADS];
    for (long i = 0; i < LOG_THREADS; i++) {
        pthread_create(&th[i], NULL, log_many, (void *)i);
    }
    for (int i = 0; i < LOG_THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    char *text = slurp(f);
    char **lines = calloc(LOG_THREADS * LOG_LINES + 1, sizeof *lines);
    size_t n = split_lines(text, lines, LOG_THREADS * LOG_LINES + 1);
    CU_ASSERT_EQUAL(n, LOG_THREADS * LOG_LINES);
    size_t parsed = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_loads(lines[i], 0, NULL);
        parsed += j != NULL;
        json_decref(j);
    }
    CU_ASSERT_EQUAL(parsed, n);
    free(lines);
    free(text);
    fclose(f);
    restore_default();
}

static CU_TestInfo tests[] = {
    {"json line has ts level component msg", test_log_json_line_has_ts_level_component_msg},
    {"level filtering drops lower levels", test_log_level_filtering_drops_lower_levels},
    {"fields are members of the json line", test_log_fields_are_members_of_the_json_line},
    {"human line format", test_log_human_line_format},
    {"human shows fields as key=value", test_log_human_shows_fields_as_key_value},
    {"invalid utf-8 still gives valid json", test_log_invalid_utf8_still_gives_valid_json},
    {"utf-8 is kept and every invalid form replaced",
     test_log_utf8_is_kept_and_every_invalid_form_replaced},
    {"long message is written whole", test_log_long_message_is_written_whole},
    {"null component is left out", test_log_null_component_is_left_out},
    {"auto on a file is json", test_log_auto_on_a_file_is_json},
    {"level and format parse", test_log_level_and_format_parse},
    {"lines from threads never interleave", test_log_lines_from_threads_never_interleave},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("log", tests)
