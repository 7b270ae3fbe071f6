/*
 * The core against a real redis-server (started here on a free 127.0.0.1
 * port in a temporary directory, stopped by its PID): the Lua scripts and
 * the commands the core hands out, as Redis runs them; then the backup
 * tool (build/tools/s3kms-keystore) exporting, importing and verifying a
 * key store.  Skipped when redis-server or the tool is missing.
 */

#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "kms.h"
#include "kms_int.h"


#define ACCT  "111122223333"
#define TOOL  TEST_VECTORS "/../../build/tools/s3kms-keystore"


typedef struct {
    pid_t           pid;
    int             port;
    char            dir[128];
    redisContext   *rc;
} srv_t;

static char          tmpdir[64];
static kms_caller_t  alice = { "AKIDALICE", ACCT,
                               "arn:aws:iam::" ACCT ":user/alice", NULL,
                               "192.0.2.1", "test", NULL, 1700000000000LL };
static kms_caller_t  s3gw = { "AKIDALICE", ACCT,
                              "arn:aws:iam::" ACCT ":user/alice",
                              "s3.us-east-1.amazonaws.com", "192.0.2.1",
                              "test", NULL, 1700000000000LL };


static int
free_port(void)
{
    struct sockaddr_in  a;
    socklen_t           len = sizeof(a);
    int                 fd, port;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *) &a, sizeof(a)) != 0
        || getsockname(fd, (struct sockaddr *) &a, &len) != 0)
    {
        close(fd);
        return -1;
    }
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}


static int
srv_start(srv_t *s, const char *name)
{
    char  port[16];
    int   i;

    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "%s/%s", tmpdir, name);
    mkdir(s->dir, 0700);
    s->port = free_port();
    snprintf(port, sizeof(port), "%d", s->port);

    s->pid = fork();
    if (s->pid == 0) {
        int  devnull = open("/dev/null", O_WRONLY);

        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("redis-server", "redis-server", "--port", port, "--bind",
               "127.0.0.1", "--dir", s->dir, "--save", "", "--appendonly",
               "no", "--daemonize", "no", (char *) NULL);
        _exit(127);
    }

    for (i = 0; i < 100; i++) {
        s->rc = redisConnect("127.0.0.1", s->port);
        if (s->rc != NULL && !s->rc->err) {
            redisReply  *r = redisCommand(s->rc, "PING");

            if (r != NULL && r->type == REDIS_REPLY_STATUS) {
                freeReplyObject(r);
                return 0;
            }
            freeReplyObject(r);
        }
        if (s->rc) {
            redisFree(s->rc);
            s->rc = NULL;
        }
        usleep(50000);
    }

    return -1;
}


static void
srv_stop(srv_t *s)
{
    if (s->rc) {
        redisFree(s->rc);
        s->rc = NULL;
    }
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}


/* ---- running calls through hiredis -------------------------------------- */

static void
conv(const redisReply *r, kms_reply_t *out)
{
    size_t        i;
    kms_reply_t  *el;

    memset(out, 0, sizeof(*out));

    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        out->type = KMS_REPLY_STRING;
        out->str = r->str;
        out->len = r->len;
        break;
    case REDIS_REPLY_ERROR:
        out->type = KMS_REPLY_ERROR;
        out->str = r->str;
        out->len = r->len;
        break;
    case REDIS_REPLY_INTEGER:
        out->type = KMS_REPLY_INTEGER;
        out->integer = r->integer;
        break;
    case REDIS_REPLY_ARRAY:
        out->type = KMS_REPLY_ARRAY;
        out->elements = r->elements;
        el = calloc(r->elements + 1, sizeof(kms_reply_t));
        for (i = 0; i < r->elements; i++) {
            conv(r->element[i], &el[i]);
        }
        out->element = el;
        break;
    default:
        out->type = KMS_REPLY_NIL;
    }
}


static void
conv_free(kms_reply_t *r)
{
    size_t  i;

    if (r->type == KMS_REPLY_ARRAY) {
        for (i = 0; i < r->elements; i++) {
            conv_free((kms_reply_t *) &r->element[i]);
        }
        free((void *) r->element);
    }
}


static void
drive(srv_t *s, kms_call_t *c)
{
    const kms_cmd_t  *cmd;
    redisReply       *r;
    kms_reply_t       kr;

    while (kms_call_run(c) == KMS_CALL_NEED_REDIS) {
        cmd = kms_call_command(c);
        r = redisCommandArgv(s->rc, cmd->argc, cmd->argv, cmd->argvlen);
        assert_non_null(r);
        conv(r, &kr);
        kms_call_reply(c, &kr);
        conv_free(&kr);
        freeReplyObject(r);
    }
}


static kms_ctx_t *
ctx_on(srv_t *s, unsigned char fill)
{
    unsigned char  root[32];
    kms_conf_t     conf = { "us-east-1", "aws", NULL, 25 };
    kms_ctx_t     *ctx;
    kms_call_t    *c;

    memset(root, fill, sizeof(root));
    ctx = kms_ctx_new(root, &conf);
    c = kms_call_load(ctx);
    drive(s, c);
    kms_call_free(c);
    return ctx;
}


static json_t *
api(srv_t *s, kms_ctx_t *ctx, const char *op, const char *body, int *status)
{
    kms_call_t  *c;
    json_t      *j;
    size_t       len;
    const char  *b;

    c = kms_call_new(ctx, &alice, op, body, strlen(body));
    drive(s, c);
    *status = kms_call_status(c);
    b = kms_call_body(c, &len);
    j = len ? json_loadb(b, len, 0, NULL) : json_object();
    kms_call_free(c);
    assert_non_null(j);
    return j;
}


static const char *
jget(json_t *o, const char *a, const char *b)
{
    json_t  *v = json_object_get(o, a);

    if (b) {
        v = json_object_get(v, b);
    }
    return json_string_value(v);
}


static long long
redis_int(srv_t *s, const char *fmt, const char *arg)
{
    redisReply  *r = redisCommand(s->rc, fmt, arg);
    long long    n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

    freeReplyObject(r);
    return n;
}


static int
have_redis(void)
{
    return system("command -v redis-server >/dev/null 2>&1") == 0;
}


static int
setup(void **state)
{
    strcpy(tmpdir, "/tmp/kms-redis-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}


static int
teardown(void **state)
{
    char  cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}


/* ---- the scripts, for real ---------------------------------------------- */

static void
scripts_run_on_real_redis(void **state)
{
    srv_t        s;
    kms_ctx_t   *ctx, *ctx2;
    json_t      *r;
    int          st;
    char         id[40], body[1024], blob[512], name[64];
    kms_call_t  *c;

    if (!have_redis()) {
        skip();
    }
    assert_int_equal(srv_start(&s, "a"), 0);

    ctx = ctx_on(&s, 7);
    assert_int_equal(kms_ctx_state(ctx), KMS_RING_READY);

    r = api(&s, ctx, "CreateKey", "{\"Description\":\"real\"}", &st);
    assert_int_equal(st, 200);
    snprintf(id, sizeof(id), "%s", jget(r, "KeyMetadata", "KeyId"));
    json_decref(r);

    snprintf(name, sizeof(name), "kms:key:{%s}", id);
    assert_int_equal(redis_int(&s, "HLEN %s", name), 5);
    assert_int_equal(redis_int(&s, "ZCARD %s", "kms:keys:{" ACCT "}"), 1);

    snprintf(body, sizeof(body), "{\"AliasName\":\"alias/real\","
             "\"TargetKeyId\":\"%s\"}", id);
    r = api(&s, ctx, "CreateAlias", body, &st);
    assert_int_equal(st, 200);
    json_decref(r);
    r = api(&s, ctx, "CreateAlias", body, &st);
    assert_string_equal(jget(r, "__type", NULL), "AlreadyExistsException");
    json_decref(r);

    r = api(&s, ctx, "Encrypt", "{\"KeyId\":\"alias/real\",\"Plaintext\":"
            "\"cmVhbA==\"}", &st);
    assert_int_equal(st, 200);
    snprintf(blob, sizeof(blob), "%s", jget(r, "CiphertextBlob", NULL));
    json_decref(r);

    /* a second worker loads what the first wrote and decrypts */
    ctx2 = ctx_on(&s, 7);
    snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\"}", blob);
    r = api(&s, ctx2, "Decrypt", body, &st);
    assert_int_equal(st, 200);
    assert_string_equal(jget(r, "Plaintext", NULL), "cmVhbA==");
    json_decref(r);

    /* worker 2 changes the key; worker 1's next write meets the new rev */
    snprintf(body, sizeof(body), "{\"KeyId\":\"%s\"}", id);
    r = api(&s, ctx2, "DisableKey", body, &st);
    assert_int_equal(st, 200);
    json_decref(r);
    snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"Description\":\"x\"}",
             id);
    r = api(&s, ctx, "UpdateKeyDescription", body, &st);
    assert_int_equal(st, 200);
    json_decref(r);
    snprintf(body, sizeof(body), "{\"KeyId\":\"%s\"}", id);
    r = api(&s, ctx, "DescribeKey", body, &st);
    assert_string_equal(jget(r, "KeyMetadata", "KeyState"), "Disabled");
    assert_string_equal(jget(r, "KeyMetadata", "Description"), "x");
    json_decref(r);

    /* the AWS managed key, created by one worker only */
    c = kms_call_generate_data_key(ctx2, &s3gw, NULL, NULL, 32);
    drive(&s, c);
    assert_int_equal(kms_call_status(c), 200);
    kms_call_free(c);
    c = kms_call_generate_data_key(ctx, &s3gw, NULL, NULL, 32);
    drive(&s, c);
    assert_int_equal(kms_call_status(c), 200);
    kms_call_free(c);
    assert_int_equal(redis_int(&s, "ZCARD %s", "kms:keys:{" ACCT "}"), 2);

    /* SSE-S3's internal key: made once on first use, opened by the other */
    {
        unsigned char         dk[32], iblob[256];
        size_t                n, bloblen;
        const unsigned char  *p;
        const char           *ectx = "{\"aws:s3:arn\":\"arn:aws:s3:::b/k\"}";

        c = kms_call_generate_data_key_internal(ctx, &s3gw, ectx, 32);
        drive(&s, c);
        assert_int_equal(kms_call_status(c), 200);
        p = kms_call_plaintext(c, &n);
        memcpy(dk, p, 32);
        p = kms_call_blob(c, &bloblen);
        memcpy(iblob, p, bloblen);
        kms_call_free(c);

        c = kms_call_decrypt_blob_internal(ctx2, &s3gw, iblob, bloblen,
                                           ectx);
        drive(&s, c);
        assert_int_equal(kms_call_status(c), 200);
        p = kms_call_plaintext(c, &n);
        assert_int_equal(n, 32);
        assert_memory_equal(p, dk, 32);
        kms_call_free(c);

        assert_int_equal(redis_int(&s, "EXISTS %s", "kms:key:{"
                                   KMS_INTERNAL_KEY_ID "}"), 1);
        /* in no account's set */
        assert_int_equal(redis_int(&s, "ZCARD %s", "kms:keys:{" ACCT "}"), 2);
    }

    /* scheduled deletion, then the erase by maintenance */
    r = api(&s, ctx, "ScheduleKeyDeletion", body, &st);
    assert_int_equal(st, 200);
    json_decref(r);
    c = kms_call_maintain(ctx, 1700000000000LL + 31 * KMS_DAY_MS);
    drive(&s, c);
    assert_non_null(kms_call_event(c));
    assert_int_equal(kms_call_error(c), KMS_OK);
    kms_call_free(c);
    /* a finished run releases its lock */
    assert_int_equal(redis_int(&s, "EXISTS %s", "kms:lock:maintain"), 0);
    assert_int_equal(redis_int(&s, "EXISTS %s", name), 0);
    assert_int_equal(redis_int(&s, "HEXISTS %s alias/real",
                               "kms:alias:{" ACCT "}"), 0);
    assert_int_equal(redis_int(&s, "ZCARD %s", "kms:keys:{" ACCT "}"), 1);

    /* another root key: refused, nothing written */
    {
        kms_ctx_t  *bad = ctx_on(&s, 9);

        assert_int_equal(kms_ctx_state(bad), KMS_RING_WRONG_ROOT);
        r = api(&s, bad, "CreateKey", "{}", &st);
        assert_int_equal(st, 500);
        json_decref(r);
        assert_int_equal(redis_int(&s, "ZCARD %s", "kms:keys:{" ACCT "}"), 1);
        kms_ctx_free(bad);
    }

    kms_ctx_free(ctx);
    kms_ctx_free(ctx2);
    srv_stop(&s);
}


/* ---- the backup tool ---------------------------------------------------- */

static int
run(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
    char     cmd[2048];
    va_list  ap;
    int      rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);

    rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}


static void
keystore_export_import_verify(void **state)
{
    srv_t        a, b;
    kms_ctx_t   *ctx;
    json_t      *r;
    int          st, i;
    char         body[1024], blob[512], file[128], key[128], out[128];
    struct stat  sb;

    if (!have_redis() || access(TOOL, X_OK) != 0) {
        skip();
    }

    assert_int_equal(srv_start(&a, "a"), 0);
    ctx = ctx_on(&a, 7);

    for (i = 0; i < 3; i++) {
        r = api(&a, ctx, "CreateKey", "{}", &st);
        assert_int_equal(st, 200);
        if (i == 0) {
            snprintf(body, sizeof(body), "{\"AliasName\":\"alias/b\","
                     "\"TargetKeyId\":\"%s\"}",
                     jget(r, "KeyMetadata", "KeyId"));
        }
        json_decref(r);
    }
    r = api(&a, ctx, "CreateAlias", body, &st);
    json_decref(r);
    r = api(&a, ctx, "RotateKeyOnDemand", "{\"KeyId\":\"alias/b\"}", &st);
    assert_int_equal(st, 200);
    json_decref(r);
    r = api(&a, ctx, "Encrypt", "{\"KeyId\":\"alias/b\",\"Plaintext\":"
            "\"YmFja3Vw\",\"EncryptionContext\":{\"k\":\"v\"}}", &st);
    snprintf(blob, sizeof(blob), "%s", jget(r, "CiphertextBlob", NULL));
    json_decref(r);
    kms_ctx_free(ctx);

    snprintf(file, sizeof(file), "%s/export.jsonl", tmpdir);
    snprintf(out, sizeof(out), "%s/out.txt", tmpdir);
    assert_int_equal(run("%s export --redis 127.0.0.1:%d %s >%s", TOOL,
                         a.port, file, out), 0);
    assert_int_equal(stat(file, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(run("grep -q 'exported 6 records: 1 root fingerprint, "
                         "3 keys, 1 alias hashes, 1 account sets' %s", out),
                     0);

    /* verify with the root key; with another one it fails */
    snprintf(key, sizeof(key), "%s/root.key", tmpdir);
    assert_int_equal(run("head -c 32 /dev/zero | tr '\\0' '\\7' >%s && "
                         "chmod 600 %s", key, key), 0);
    assert_int_equal(run("%s verify --root-key %s %s >/dev/null", TOOL, key,
                         file), 0);

    /* restore into an empty Redis and use the keys there */
    assert_int_equal(srv_start(&b, "b"), 0);
    assert_int_equal(run("%s import --redis 127.0.0.1:%d %s >%s", TOOL,
                         b.port, file, out), 0);
    assert_int_equal(run("grep -q 'imported 6 records' %s", out), 0);

    ctx = ctx_on(&b, 7);
    assert_int_equal(kms_ctx_state(ctx), KMS_RING_READY);
    snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\","
             "\"EncryptionContext\":{\"k\":\"v\"}}", blob);
    r = api(&b, ctx, "Decrypt", body, &st);
    assert_int_equal(st, 200);
    assert_string_equal(jget(r, "Plaintext", NULL), "YmFja3Vw");
    json_decref(r);
    r = api(&b, ctx, "ListKeyRotations", "{\"KeyId\":\"alias/b\"}", &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(r, "Rotations")), 1);
    json_decref(r);
    kms_ctx_free(ctx);

    /* not over existing data, unless forced */
    assert_int_equal(run("%s import --redis 127.0.0.1:%d %s 2>/dev/null "
                         ">/dev/null", TOOL, b.port, file), 1);
    assert_int_equal(run("%s import --redis 127.0.0.1:%d --force %s "
                         ">/dev/null", TOOL, b.port, file), 0);

    /* a record edited in the file fails verification */
    assert_int_equal(run("sed -i '0,/\"bWV0YQ==\",\"/s//\"bWV0YQ==\",\"e/' "
                         "%s", file), 0);
    assert_int_equal(run("%s verify --root-key %s %s >/dev/null 2>&1", TOOL,
                         key, file), 1);

    assert_int_equal(run("%s export --redis 127.0.0.1:1 %s 2>/dev/null",
                         TOOL, file), 1);

    srv_stop(&a);
    srv_stop(&b);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(scripts_run_on_real_redis, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(keystore_export_import_verify, setup,
                                        teardown),
    };

    if (kms_global_init(1 << 20) != 0) {
        return 1;
    }

    return UNIT_RUN(tests);
}
