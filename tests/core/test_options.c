/* Tests of core/options.c: one declared table gives defaults, parsing, help and docs. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/options.h"
#include "sm_test.h"

typedef struct conf {
    bool json;
    bool verbose;
    int64_t count;
    int64_t offset;
    double rate;
    const char *topic;
    const char *group;
    uint64_t max_bytes;
    int64_t interval;
    int format;
    sm_strlist props;
    sm_strlist brokers;
} conf;

static const sm_opt cmd_opts[] = {
    {"count", 'n', SM_OPT_INT, offsetof(conf, count), "10000", 1, 1e12, NULL, "N",
     "messages to produce"},
    {"offset", 0, SM_OPT_INT, offsetof(conf, offset), NULL, SM_NO_BOUNDS, NULL, NULL,
     "start offset; negative counts back from the end"},
    {"rate", 'r', SM_OPT_DOUBLE, offsetof(conf, rate), "1.5", 0, 1e9, NULL, "PER_SEC",
     "messages per second, 0 for as fast as possible"},
    {"topic", 't', SM_OPT_STRING, offsetof(conf, topic), "orders", SM_NO_BOUNDS, NULL, NULL,
     "Kafka topic to write to"},
    {"group", 0, SM_OPT_STRING, offsetof(conf, group), NULL, SM_NO_BOUNDS, NULL, NULL,
     "consumer group id"},
    {"max-bytes", 0, SM_OPT_SIZE, offsetof(conf, max_bytes), "256MB", 1048576, 1099511627776.0,
     NULL, NULL, "largest batch"},
    {"interval", 'i', SM_OPT_DURATION, offsetof(conf, interval), "5s", 100, 86400000, NULL, NULL,
     "trigger interval"},
    {"format", 'f', SM_OPT_ENUM, offsetof(conf, format), "json", SM_NO_BOUNDS, "json|avro|protobuf",
     NULL, "payload encoding"},
    {"prop", 'X', SM_OPT_LIST, offsetof(conf, props), NULL, SM_NO_BOUNDS, NULL, "KEY=VALUE",
     "librdkafka property, repeatable"},
    {"broker", 'b', SM_OPT_LIST, offsetof(conf, brokers), "localhost:9092", SM_NO_BOUNDS, NULL,
     "HOST:PORT", "bootstrap server"},
    SM_OPT_END,
};

static const sm_opt common_opts[] = {
    {"json", 'j', SM_OPT_BOOL, offsetof(conf, json), NULL, SM_NO_BOUNDS, NULL, NULL,
     "print JSON instead of text"},
    {"verbose", 'v', SM_OPT_BOOL, offsetof(conf, verbose), "false", SM_NO_BOUNDS, NULL, NULL,
     "say more"},
    SM_OPT_END,
};

static const sm_opt *const tables[] = {cmd_opts, common_opts, NULL};

/* Parses a NULL-terminated list of arguments into *c. */
static int run(conf *c, sm_strlist *pos, sm_error *err, const char *const *args)
{
    int argc = 0;
    while (args[argc]) {
        argc++;
    }
    memset(c, 0, sizeof *c);
    return sm_opts_parse(tables, c, argc, (char **)args, pos, err);
}

static void conf_free(conf *c)
{
    sm_strlist_free(&c->props);
    sm_strlist_free(&c->brokers);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Expects a usage error with exactly this message. */
static void expect_usage(const char *const *args, const char *want)
{
    conf c;
    sm_error err;
    int rc = run(&c, NULL, &err, args); /* a command without positionals */
    CU_ASSERT_EQUAL(rc, SM_ERR_USAGE);
    CU_ASSERT_EQUAL(err.code, SM_ERR_USAGE);
    if (rc != SM_ERR_USAGE || strcmp(err.msg, want) != 0) {
        fprintf(stderr, "\n  want: %s\n  got:  %s (rc %d)\n", want, rc ? err.msg : "ok", rc);
        CU_FAIL("wrong usage error");
    }
    conf_free(&c);
}

static void test_options_defaults_go_through_the_parser(void)
{
    conf c;
    sm_error err;
    CU_ASSERT_EQUAL_FATAL(sm_opts_parse(tables, &c, 0, NULL, NULL, &err), SM_OK);
    CU_ASSERT_FALSE(c.json);
    CU_ASSERT_FALSE(c.verbose);
    CU_ASSERT_EQUAL(c.count, 10000);
    CU_ASSERT_EQUAL(c.offset, 0);
    CU_ASSERT_DOUBLE_EQUAL(c.rate, 1.5, 1e-12);
    CU_ASSERT_STRING_EQUAL(c.topic, "orders");
    CU_ASSERT_PTR_NULL(c.group);
    CU_ASSERT_EQUAL(c.max_bytes, 256ULL << 20);
    CU_ASSERT_EQUAL(c.interval, 5000);
    CU_ASSERT_EQUAL(c.format, 0);
    CU_ASSERT_EQUAL(c.props.count, 0); /* a NULL LIST default is empty */
    CU_ASSERT_EQUAL_FATAL(c.brokers.count, 1);
    CU_ASSERT_STRING_EQUAL(c.brokers.items[0], "localhost:9092");
    conf_free(&c);
}

static void test_options_every_type_parses(void)
{
    conf c;
    sm_error err;
    int rc = run(&c, NULL, &err,
                 ARGS("--json", "--count", "42", "--rate", "2.25", "--topic", "clicks",
                      "--max-bytes", "1GB", "--interval", "1h30m", "--format", "avro", "--prop",
                      "acks=all", "--offset", "7", "--group", "g1", "--broker", "k1:9092"));
    CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
    CU_ASSERT_TRUE(c.json);
    CU_ASSERT_EQUAL(c.count, 42);
    CU_ASSERT_DOUBLE_EQUAL(c.rate, 2.25, 1e-12);
    CU_ASSERT_STRING_EQUAL(c.topic, "clicks");
    CU_ASSERT_EQUAL(c.max_bytes, 1ULL << 30);
    CU_ASSERT_EQUAL(c.interval, 5400000);
    CU_ASSERT_EQUAL(c.format, 1);
    CU_ASSERT_EQUAL_FATAL(c.props.count, 1);
    CU_ASSERT_STRING_EQUAL(c.props.items[0], "acks=all");
    CU_ASSERT_EQUAL(c.offset, 7);
    CU_ASSERT_STRING_EQUAL(c.group, "g1");
    conf_free(&c);
}

static void test_options_equals_form_and_short_flags(void)
{
    conf c;
    sm_error err;
    int rc = run(&c, NULL, &err,
                 ARGS("--count=5", "-r", "3", "-tclicks", "-f", "protobuf", "--max-bytes=2MB",
                      "-i250ms", "--topic=", "-X", "a=1", "-Xb=2"));
    CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
    CU_ASSERT_EQUAL(c.count, 5);
    CU_ASSERT_DOUBLE_EQUAL(c.rate, 3.0, 1e-12);
    CU_ASSERT_STRING_EQUAL(c.topic, ""); /* "--topic=" sets the empty string; last one wins */
    CU_ASSERT_EQUAL(c.format, 2);
    CU_ASSERT_EQUAL(c.max_bytes, 2ULL << 20);
    CU_ASSERT_EQUAL(c.interval, 250);
    CU_ASSERT_EQUAL_FATAL(c.props.count, 2);
    CU_ASSERT_STRING_EQUAL(c.props.items[0], "a=1");
    CU_ASSERT_STRING_EQUAL(c.props.items[1], "b=2");
    conf_free(&c);

    /* "--topic=-x": a value that starts with a dash, given the only way it can be. */
    rc = run(&c, NULL, &err, ARGS("--topic=-x", "-n", "9"));
    CU_ASSERT_EQUAL_FATAL(rc, SM_OK);
    CU_ASSERT_STRING_EQUAL(c.topic, "-x");
    CU_ASSERT_EQUAL(c.count, 9);
    conf_free(&c);
}

static void test_options_bool_flags(void)
{
    conf c;
    sm_error err;
    CU_ASSERT_EQUAL_FATAL(run(&c, NULL, &err, ARGS("--json=true", "--verbose=false")), SM_OK);
    CU_ASSERT_TRUE(c.json);
    CU_ASSERT_FALSE(c.verbose);
    conf_free(&c);
    CU_ASSERT_EQUAL_FATAL(run(&c, NULL, &err, ARGS("--json", "--json=no")), SM_OK);
    CU_ASSERT_FALSE(c.json);
    conf_free(&c);
    CU_ASSERT_EQUAL_FATAL(run(&c, NULL, &err, ARGS("--verbose=ON", "--json=1")), SM_OK);
    CU_ASSERT_TRUE(c.verbose);
    CU_ASSERT_TRUE(c.json);
    conf_free(&c);
    /* Clustered short bools, then a short flag with a value. */
    CU_ASSERT_EQUAL_FATAL(run(&c, NULL, &err, ARGS("-vjn", "12")), SM_OK);
    CU_ASSERT_TRUE(c.verbose);
    CU_ASSERT_TRUE(c.json);
    CU_ASSERT_EQUAL(c.count, 12);
    conf_free(&c);
    CU_ASSERT_EQUAL_FATAL(run(&c, NULL, &err, ARGS("-vn7")), SM_OK);
    CU_ASSERT_EQUAL(c.count, 7);
    conf_free(&c);

    expect_usage(ARGS("--json=maybe"), "--json: 'maybe' is not true or false");
    /* A bool takes no separate value: "true" is then a positional. */
    expect_usage(ARGS("--json", "true"), "unexpected argument 'true'");
}

static void test_options_bounds_errors_name_flag_value_and_bound(void)
{
    expect_usage(ARGS("--rate", "-1"), "--rate: -1 is below the minimum 0");
    expect_usage(ARGS("--rate=2e9"), "--rate: 2e9 is above the maximum 1000000000");
    expect_usage(ARGS("--count", "0"), "--count: 0 is below the minimum 1");
    expect_usage(ARGS("-n", "1000000000001"), "--count: 1000000000001 is above the maximum "
                                              "1000000000000");
    expect_usage(ARGS("--max-bytes", "512KB"), "--max-bytes: 512KB is below the minimum 1MB");
    expect_usage(ARGS("--max-bytes", "2TB"), "--max-bytes: 2TB is above the maximum 1TB");
    expect_usage(ARGS("--interval", "50ms"), "--interval: 50ms is below the minimum 100ms");
    expect_usage(ARGS("--interval", "2d"), "--interval: 2d is above the maximum 1d");

    conf c;
    sm_error err;
    CU_ASSERT_EQUAL(run(&c, NULL, &err,
                        ARGS("--rate", "0", "--count", "1000000000000", "--max-bytes", "1TB",
                             "--interval", "100ms")),
                    SM_OK);
    CU_ASSERT_EQUAL(c.count, 1000000000000LL);
    conf_free(&c);
}

static void test_options_negative_numbers_are_values(void)
{
    conf c;
    sm_error err;
    sm_strlist pos = {0};
    CU_ASSERT_EQUAL_FATAL(run(&c, &pos, &err, ARGS("--offset", "-5", "-3", "--offset=-6")), SM_OK);
    CU_ASSERT_EQUAL(c.offset, -6);
    CU_ASSERT_EQUAL_FATAL(pos.count, 1); /* "-3" in a positional place is a positional */
    CU_ASSERT_STRING_EQUAL(pos.items[0], "-3");
    sm_strlist_free(&pos);
    conf_free(&c);

    CU_ASSERT_EQUAL_FATAL(run(&c, NULL, &err, ARGS("--offset", "-5")), SM_OK);
    CU_ASSERT_EQUAL(c.offset, -5);
    conf_free(&c);
    /* A negative double, also written without the leading zero, reaches the bounds check. */
    expect_usage(ARGS("-r", "-.5"), "--rate: -.5 is below the minimum 0");
    expect_usage(ARGS("-r", "-0.5"), "--rate: -0.5 is below the minimum 0");
}

static void test_options_missing_values(void)
{
    expect_usage(ARGS("--count"), "--count needs a value (N)");
    expect_usage(ARGS("--count", "--json"), "--count needs a value (N)");
    expect_usage(ARGS("-n"), "--count needs a value (N)");
    expect_usage(ARGS("--topic"), "--topic needs a value (TOPIC)");
    expect_usage(ARGS("--topic", "-x"), "--topic needs a value (TOPIC)");
    expect_usage(ARGS("--max-bytes"), "--max-bytes needs a value (SIZE)");
    expect_usage(ARGS("--interval"), "--interval needs a value (DURATION)");
    expect_usage(ARGS("--format"), "--format needs a value (FORMAT)");
    expect_usage(ARGS("-X"), "--prop needs a value (KEY=VALUE)");
    expect_usage(ARGS("--rate", "--"), "--rate needs a value (PER_SEC)");

    /* "-" alone is a value (stdin). */
    conf c;
    sm_error err;
    CU_ASSERT_EQUAL(run(&c, NULL, &err, ARGS("--topic", "-")), SM_OK);
    CU_ASSERT_STRING_EQUAL(c.topic, "-");
    conf_free(&c);
}

static void test_options_unknown_flag_suggests_nearest(void)
{
    expect_usage(ARGS("--cout", "5"), "unknown flag --cout; did you mean --count?");
    expect_usage(ARGS("--cout=5"), "unknown flag --cout; did you mean --count?");
    expect_usage(ARGS("--verbos"), "unknown flag --verbos; did you mean --verbose?");
    expect_usage(ARGS("--max_bytes=1MB"), "unknown flag --max_bytes; did you mean --max-bytes?");
    expect_usage(ARGS("--zzzzzzzz"), "unknown flag --zzzzzzzz");
    expect_usage(ARGS("-Q"), "unknown flag -Q");
    expect_usage(ARGS("-vQ"), "unknown flag -Q");
    expect_usage(ARGS("-count", "5"), "unknown flag -count; did you mean --count?");
}

static void test_options_bad_values_say_what_is_expected(void)
{
    expect_usage(ARGS("--count", "abc"), "--count: 'abc' is not an integer");
    expect_usage(ARGS("--count", "1.5"), "--count: '1.5' is not an integer");
    expect_usage(ARGS("--count", "12x"), "--count: '12x' is not an integer");
    expect_usage(ARGS("--count="), "--count: '' is not an integer");
    expect_usage(ARGS("--count", " 5"), "--count: ' 5' is not an integer");
    expect_usage(ARGS("--count", "0x10"), "--count: '0x10' is not an integer");
    expect_usage(ARGS("--offset", "99999999999999999999"),
                 "--offset: '99999999999999999999' is out of range");
    expect_usage(ARGS("--offset", "1e30"), "--offset: '1e30' is out of range");
    expect_usage(ARGS("--rate", "fast"), "--rate: 'fast' is not a number");
    expect_usage(ARGS("--rate", "nan"), "--rate: 'nan' is not a number");
    expect_usage(ARGS("--rate", "inf"), "--rate: 'inf' is not a number");
    expect_usage(ARGS("--rate", "1e999"), "--rate: '1e999' is out of range");
    expect_usage(ARGS("--max-bytes", "lots"),
                 "--max-bytes: 'lots' is not a size (like 512KB, 256MB, 1GB)");
    expect_usage(ARGS("--interval", "soon"),
                 "--interval: 'soon' is not a duration (like 250ms, 5s, 10m, 1h)");
    expect_usage(ARGS("--format", "jsno"),
                 "--format: 'jsno' is not one of json|avro|protobuf; did you mean json?");
    expect_usage(ARGS("--format", "xml"), "--format: 'xml' is not one of json|avro|protobuf");

    /* Scientific notation of a whole number is fine for counts. */
    conf c;
    sm_error err;
    CU_ASSERT_EQUAL(run(&c, NULL, &err, ARGS("--count", "1e6", "--format", "AVRO")), SM_OK);
    CU_ASSERT_EQUAL(c.count, 1000000);
    CU_ASSERT_EQUAL(c.format, 1);
    conf_free(&c);
}

static void test_options_positionals_are_collected_in_order(void)
{
    conf c;
    sm_error err;
    sm_strlist pos = {0};
    CU_ASSERT_EQUAL_FATAL(
        run(&c, &pos, &err, ARGS("a", "--count", "3", "b", "-", "--", "--json", "-n", "c")), SM_OK);
    CU_ASSERT_EQUAL(c.count, 3);
    CU_ASSERT_FALSE(c.json); /* after "--" flags are positionals */
    CU_ASSERT_EQUAL_FATAL(pos.count, 6);
    const char *want[] = {"a", "b", "-", "--json", "-n", "c"};
    for (size_t i = 0; i < 6; i++) {
        CU_ASSERT_STRING_EQUAL(pos.items[i], want[i]);
    }
    sm_strlist_free(&pos);
    CU_ASSERT_PTR_NULL(pos.items);
    CU_ASSERT_EQUAL(pos.count, 0);
    sm_strlist_free(NULL);
    conf_free(&c);
}

static void test_options_many_positionals_grow_the_list(void)
{
    enum { N = 300 };
    char *argv[N];
    char bufs[N][8];
    for (int i = 0; i < N; i++) {
        snprintf(bufs[i], sizeof bufs[i], "p%d", i);
        argv[i] = bufs[i];
    }
    conf c;
    sm_strlist pos = {0};
    CU_ASSERT_EQUAL_FATAL(sm_opts_parse(tables, &c, N, argv, &pos, NULL), SM_OK);
    CU_ASSERT_EQUAL_FATAL(pos.count, N);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_PTR_EQUAL(pos.items[i], argv[i]); /* borrowed, not copied */
    }
    sm_strlist_free(&pos);
    conf_free(&c);
}

static void test_options_positional_refused_when_command_takes_none(void)
{
    conf c;
    sm_error err;
    CU_ASSERT_EQUAL(run(&c, NULL, &err, ARGS("--json", "extra")), SM_ERR_USAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "unexpected argument 'extra'");
    conf_free(&c);
    CU_ASSERT_EQUAL(run(&c, NULL, &err, ARGS("--", "x")), SM_ERR_USAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "unexpected argument 'x'");
    conf_free(&c);
}

static void test_options_list_appends_and_replaces_its_default(void)
{
    conf c;
    sm_error err;
    CU_ASSERT_EQUAL_FATAL(run(&c, NULL, &err,
                              ARGS("-X", "a=1", "--prop", "b=2", "--prop=c=3", "-b", "k1:9092",
                                   "--broker", "k2:9092")),
                          SM_OK);
    CU_ASSERT_EQUAL_FATAL(c.props.count, 3);
    CU_ASSERT_STRING_EQUAL(c.props.items[0], "a=1");
    CU_ASSERT_STRING_EQUAL(c.props.items[1], "b=2");
    CU_ASSERT_STRING_EQUAL(c.props.items[2], "c=3");
    /* The default broker is replaced, not appended to. */
    CU_ASSERT_EQUAL_FATAL(c.brokers.count, 2);
    CU_ASSERT_STRING_EQUAL(c.brokers.items[0], "k1:9092");
    CU_ASSERT_STRING_EQUAL(c.brokers.items[1], "k2:9092");
    conf_free(&c);
}

static void test_options_last_scalar_value_wins(void)
{
    conf c;
    sm_error err;
    CU_ASSERT_EQUAL_FATAL(run(&c, NULL, &err, ARGS("-n", "1", "--count", "2", "--count=3")), SM_OK);
    CU_ASSERT_EQUAL(c.count, 3);
    conf_free(&c);
}

static void test_options_bad_default_is_an_internal_error(void)
{
    typedef struct {
        int64_t n;
    } small;
    static const sm_opt bad[] = {
        {"n", 0, SM_OPT_INT, offsetof(small, n), "ten", SM_NO_BOUNDS, NULL, NULL, "n"},
        SM_OPT_END,
    };
    const sm_opt *const t[] = {bad, NULL};
    small s;
    sm_error err;
    CU_ASSERT_EQUAL(sm_opts_parse(t, &s, 0, NULL, NULL, &err), SM_ERR_INTERNAL);
    CU_ASSERT_EQUAL(err.code, SM_ERR_INTERNAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--n: 'ten' is not an integer"));
}

static void test_options_opt_set_directly(void)
{
    conf c = {0};
    sm_error err;
    const sm_opt *count = &cmd_opts[0];
    CU_ASSERT_EQUAL(sm_opt_set(count, &c, "77", &err), SM_OK);
    CU_ASSERT_EQUAL(c.count, 77);
    CU_ASSERT_EQUAL(sm_opt_set(count, &c, NULL, &err), SM_ERR_USAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "--count needs a value (N)");
    CU_ASSERT_EQUAL(c.count, 77); /* unchanged on error */
    CU_ASSERT_EQUAL(sm_opt_set(&common_opts[0], &c, NULL, &err), SM_OK);
    CU_ASSERT_TRUE(c.json);

    static const sm_opt no_choices = {
        "kind", 0, SM_OPT_ENUM, offsetof(conf, format), NULL, SM_NO_BOUNDS, NULL, NULL, "kind"};
    CU_ASSERT_EQUAL(sm_opt_set(&no_choices, &c, "a", &err), SM_ERR_INTERNAL);
}

static void test_options_edit_distance(void)
{
    CU_ASSERT_EQUAL(sm_edit_distance("kitten", "sitting"), 3);
    CU_ASSERT_EQUAL(sm_edit_distance("", "abc"), 3);
    CU_ASSERT_EQUAL(sm_edit_distance("abc", ""), 3);
    CU_ASSERT_EQUAL(sm_edit_distance("", ""), 0);
    CU_ASSERT_EQUAL(sm_edit_distance("count", "count"), 0);
    CU_ASSERT_EQUAL(sm_edit_distance("cout", "count"), 1);
    CU_ASSERT_EQUAL(sm_edit_distance("flaw", "lawn"), 2);
    /* Long strings take the heap path. */
    char a[201], b[201];
    memset(a, 'a', 200);
    a[200] = '\0';
    memcpy(b, a, sizeof b);
    b[0] = 'b';
    b[199] = 'b';
    CU_ASSERT_EQUAL(sm_edit_distance(a, b), 2);
    CU_ASSERT_EQUAL(sm_edit_distance(a, "a"), 199);
}

static void test_options_nearest_within_a_third(void)
{
    const char *names[] = {"count", "rate", "topic", "max-bytes", "interval", NULL};
    CU_ASSERT_STRING_EQUAL(sm_nearest("cout", names), "count");
    CU_ASSERT_STRING_EQUAL(sm_nearest("intervall", names), "interval");
    CU_ASSERT_STRING_EQUAL(sm_nearest("topic", names), "topic");
    CU_ASSERT_STRING_EQUAL(sm_nearest("max-byte", names), "max-bytes");
    CU_ASSERT_PTR_NULL(sm_nearest("mx-bytse", names)); /* 3 edits > max(2, 8/3) */
    /* The bound is max(2, strlen/3). */
    const char *nine[] = {"abcdefghi", NULL};
    CU_ASSERT_STRING_EQUAL(sm_nearest("abcdefxyz", nine), "abcdefghi"); /* 3 <= 9/3 */
    CU_ASSERT_PTR_NULL(sm_nearest("abcdewxyz", nine));                  /* 4 > 3 */
    const char *two[] = {"ab", NULL};
    CU_ASSERT_STRING_EQUAL(sm_nearest("xy", two), "ab"); /* 2 <= 2 */
    CU_ASSERT_PTR_NULL(sm_nearest("xyz", two));          /* 3 > 2 */
    CU_ASSERT_PTR_NULL(sm_nearest("zzzzzzzz", names));
    CU_ASSERT_PTR_NULL(sm_nearest("xyz", names));
    CU_ASSERT_PTR_NULL(sm_nearest("cout", NULL));
    CU_ASSERT_PTR_NULL(sm_nearest(NULL, names));
    const char *none[] = {NULL};
    CU_ASSERT_PTR_NULL(sm_nearest("cout", none));
    /* Ties go to the first. */
    const char *tie[] = {"ab", "ba", NULL};
    CU_ASSERT_STRING_EQUAL(sm_nearest("aa", tie), "ab");
}

/* Through a temporary file rather than open_memstream: gcc 12 at -O2 mistakes the memstream's
 * buffer for a dangling pointer to a local (-Wdangling-pointer). */
static char *capture_help(bool markdown)
{
    FILE *f = tmpfile();
    char *text;
    long len;
    if (!f) {
        return NULL;
    }
    if (markdown) {
        sm_opts_print_markdown(f, tables);
    } else {
        sm_opts_print_help(f, tables);
    }
    len = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)len + 1);
    if (text && fread(text, 1, (size_t)len, f) != (size_t)len) {
        free(text);
        text = NULL;
    }
    fclose(f);
    return text;
}

static void test_options_help_lists_flags_defaults_and_choices(void)
{
    char *help = capture_help(false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(help);
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "  -n, --count N "));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "messages to produce (default: 10000)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "      --offset N "));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "  -r, --rate PER_SEC "));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "(default: 1.5)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "      --max-bytes SIZE "));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "largest batch (default: 256MB)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "trigger interval (default: 5s)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "  -f, --format FORMAT "));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(help, "payload encoding (one of json|avro|protobuf; default: json)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "  -X, --prop KEY=VALUE "));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "(repeatable)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "(repeatable; default: localhost:9092)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "  -j, --json "));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "say more\n")); /* "default: false" is not shown */
    CU_ASSERT_PTR_NULL(strstr(help, "default: false"));
    CU_ASSERT_PTR_NOT_NULL(strstr(help, "consumer group id\n"));

    /* Descriptions start in one column, and no line is wider than 100. */
    const sm_opt *const all[] = {cmd_opts, common_opts};
    long col = -1;
    for (size_t t = 0; t < 2; t++) {
        for (const sm_opt *o = all[t]; o->name; o++) {
            const char *at = strstr(help, o->help);
            CU_ASSERT_PTR_NOT_NULL_FATAL(at);
            const char *bol = at;
            while (bol > help && bol[-1] != '\n') {
                bol--;
            }
            if (col < 0) {
                col = at - bol;
            }
            CU_ASSERT_EQUAL(at - bol, col);
        }
    }
    int lines = 0;
    for (char *save = NULL, *l = strtok_r(help, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lines++;
        CU_ASSERT_TRUE(strlen(l) <= 100);
    }
    CU_ASSERT_EQUAL(lines, 12);
    free(help);
}

static void test_options_help_wraps_long_descriptions_at_100_columns(void)
{
    typedef struct {
        const char *s;
    } one;
    static const sm_opt long_help[] = {
        {"registry-url", 's', SM_OPT_STRING, offsetof(one, s), "http://localhost:8081",
         SM_NO_BOUNDS, NULL, "URL",
         "base URL of the Confluent schema registry used to resolve writer schemas of Avro and "
         "Protobuf records by the schema id in the Confluent wire format header of each "
         "record; credentials may be given in the URL"},
        {"very-long-flag-name-that-pushes", 0, SM_OPT_STRING, offsetof(one, s), NULL, SM_NO_BOUNDS,
         NULL, "SOMETHING", "short help"},
        SM_OPT_END,
    };
    const sm_opt *const t[] = {long_help, NULL};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    sm_opts_print_help(f, t);
    fclose(f);
    int lines = 0;
    size_t desc_col = 0;
    char *copy = strdup(text);
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lines++;
        CU_ASSERT_TRUE(strlen(l) <= 100);
        if (lines == 1) {
            desc_col = (size_t)(strstr(l, "base URL") - l);
        } else if (lines == 2 || lines == 3) {
            /* Continuation lines are indented to the description column. */
            CU_ASSERT_EQUAL(strspn(l, " "), desc_col);
        }
    }
    CU_ASSERT_TRUE(lines >= 4);
    /* A flag too wide for the column gets its description on the next line. */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "--very-long-flag-name-that-pushes SOMETHING\n"));
    char want[128];
    snprintf(want, sizeof want, "\n%*sshort help\n", (int)desc_col, "");
    CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "http://localhost:8081)\n")); /* the note wraps too */
    free(copy);
    free(text);
}

static void test_options_help_derives_metavars_from_types(void)
{
    typedef struct {
        double d;
        sm_strlist l;
        const char *s;
    } any;
    static const sm_opt derived[] = {
        {"ratio", 0, SM_OPT_DOUBLE, offsetof(any, d), NULL, SM_NO_BOUNDS, NULL, NULL, "a ratio"},
        {"tag", 0, SM_OPT_LIST, offsetof(any, l), NULL, SM_NO_BOUNDS, NULL, NULL, "a tag"},
        {"group-id", 0, SM_OPT_STRING, offsetof(any, s), NULL, SM_NO_BOUNDS, NULL, NULL,
         "line one\nline | two"},
        SM_OPT_END,
    };
    const sm_opt *const t[] = {derived, NULL};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    sm_opts_print_help(f, t);
    sm_opts_print_markdown(f, t);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "      --ratio X "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "      --tag VALUE "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "      --group-id GROUP_ID "));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "| `--group-id GROUP_ID` | string |  | line one line \\| two |"));
    free(text);

    /* Every flag wider than the column limit: descriptions go below, at the limit. */
    static const sm_opt wide[] = {
        {"an-extremely-long-flag-name", 0, SM_OPT_STRING, offsetof(any, s), NULL, SM_NO_BOUNDS,
         NULL, NULL, "desc  with   spaces "},
        SM_OPT_END,
    };
    const sm_opt *const w[] = {wide, NULL};
    f = open_memstream(&text, &len);
    sm_opts_print_help(f, w);
    fclose(f);
    CU_ASSERT_STRING_EQUAL(text, "      --an-extremely-long-flag-name AN_EXTREMELY_LONG_FLAG_NAME\n"
                                 "                                desc with spaces\n");
    free(text);

    /* An empty table prints nothing but the Markdown header. */
    static const sm_opt empty[] = {SM_OPT_END};
    const sm_opt *const e[] = {empty, NULL};
    f = open_memstream(&text, &len);
    sm_opts_print_help(f, e);
    fclose(f);
    CU_ASSERT_STRING_EQUAL(text, "");
    free(text);
}

static void test_options_markdown_table(void)
{
    char *md = capture_help(true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    const char *head = "| flag | type | default | description |\n| --- | --- | --- | --- |\n";
    CU_ASSERT_EQUAL(strncmp(md, head, strlen(head)), 0);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(md, "| `-n`, `--count N` | int, 1 to 1000000000000 | `10000` | messages to "
                   "produce |\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(md, "| `--max-bytes SIZE` | size, 1MB to 1TB | `256MB` | largest batch |\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "| `-i`, `--interval DURATION` | duration, 100ms to 1d | "
                                      "`5s` | trigger interval |\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "| `-f`, `--format FORMAT` | enum: json\\|avro\\|protobuf | "
                                      "`json` | payload encoding |\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "| `-X`, `--prop KEY=VALUE` | list (repeatable) |  | "));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "| `--group GROUP` | string |  | consumer group id |\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "| `-j`, `--json` | bool |  | print JSON instead of text |"));
    /* One row per flag plus the two header lines. */
    int rows = 0;
    for (char *p = md; (p = strchr(p, '\n')); p++) {
        rows++;
    }
    CU_ASSERT_EQUAL(rows, 14);
    free(md);
}

/* SM_OPT_MAP: repeatable KEY=VALUE pairs, in order; the first flag replaces the default. */
static void test_options_map_collects_key_value_pairs(void)
{
    typedef struct mconf {
        sm_strmap props;
    } mconf;
    static const sm_opt map_opts[] = {
        {"prop", 'X', SM_OPT_MAP, offsetof(mconf, props), "acks=all", SM_NO_BOUNDS, NULL, NULL,
         "librdkafka property"},
        SM_OPT_END,
    };
    const sm_opt *const map_tables[] = {map_opts, NULL};
    mconf c;
    sm_error err;
    char *args[] = {"-X", "linger.ms=5", "--prop=client.id=a=b", "-X", "linger.ms=7"};
    memset(&c, 0, sizeof c);
    CU_ASSERT_EQUAL_FATAL(sm_opts_parse(map_tables, &c, 5, args, NULL, &err), SM_OK);
    CU_ASSERT_EQUAL_FATAL(c.props.count, 3);
    CU_ASSERT_STRING_EQUAL(c.props.keys[0], "linger.ms");
    CU_ASSERT_STRING_EQUAL(c.props.values[0], "5");
    CU_ASSERT_STRING_EQUAL(c.props.keys[1], "client.id");
    CU_ASSERT_STRING_EQUAL(c.props.values[1], "a=b");                  /* split at the first '=' */
    CU_ASSERT_STRING_EQUAL(sm_strmap_get(&c.props, "linger.ms"), "7"); /* the last one wins */
    CU_ASSERT_PTR_NULL(sm_strmap_get(&c.props, "acks"));               /* default replaced */
    sm_strmap_free(&c.props);
    CU_ASSERT_EQUAL(c.props.count, 0);

    CU_ASSERT_EQUAL_FATAL(sm_opts_parse(map_tables, &c, 0, NULL, NULL, &err), SM_OK);
    CU_ASSERT_STRING_EQUAL(sm_strmap_get(&c.props, "acks"), "all");
    sm_strmap_free(&c.props);

    char *bad[] = {"-X", "novalue"};
    CU_ASSERT_EQUAL(sm_opts_parse(map_tables, &c, 2, bad, NULL, &err), SM_ERR_USAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "--prop: 'novalue' is not KEY=VALUE");
    sm_strmap_free(&c.props);
    char *empty_key[] = {"-X", "=v"};
    CU_ASSERT_EQUAL(sm_opts_parse(map_tables, &c, 2, empty_key, NULL, &err), SM_ERR_USAGE);
    sm_strmap_free(&c.props);

    char type[64];
    CU_ASSERT_STRING_EQUAL(sm_opt_type_text(&map_opts[0], type, sizeof type), "map (repeatable)");
}

static CU_TestInfo tests[] = {
    {"defaults go through the parser", test_options_defaults_go_through_the_parser},
    {"every type parses", test_options_every_type_parses},
    {"--x=y form and short flags", test_options_equals_form_and_short_flags},
    {"bool flags", test_options_bool_flags},
    {"bounds errors name flag, value and bound",
     test_options_bounds_errors_name_flag_value_and_bound},
    {"negative numbers are values", test_options_negative_numbers_are_values},
    {"missing values", test_options_missing_values},
    {"unknown flag suggests nearest", test_options_unknown_flag_suggests_nearest},
    {"bad values say what is expected", test_options_bad_values_say_what_is_expected},
    {"positionals are collected in order", test_options_positionals_are_collected_in_order},
    {"many positionals grow the list", test_options_many_positionals_grow_the_list},
    {"positional refused when command takes none",
     test_options_positional_refused_when_command_takes_none},
    {"list appends and replaces its default", test_options_list_appends_and_replaces_its_default},
    {"last scalar value wins", test_options_last_scalar_value_wins},
    {"bad default is an internal error", test_options_bad_default_is_an_internal_error},
    {"opt_set directly", test_options_opt_set_directly},
    {"edit distance", test_options_edit_distance},
    {"nearest within a third", test_options_nearest_within_a_third},
    {"help lists flags, defaults and choices", test_options_help_lists_flags_defaults_and_choices},
    {"help wraps long descriptions at 100 columns",
     test_options_help_wraps_long_descriptions_at_100_columns},
    {"help derives metavars from types", test_options_help_derives_metavars_from_types},
    {"markdown table", test_options_markdown_table},
    {"map collects KEY=VALUE pairs", test_options_map_collects_key_value_pairs},
    CU_TEST_INFO_NULL,
};

SM_TEST_MAIN("options", tests)
