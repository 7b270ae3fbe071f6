#include "s3_err.h"

typedef struct {
    const char   *code;
    const char   *message;
    int           status;
    s3_errcat_t   category;
} s3_err_entry_t;

#define S3_ERR_ROW(name, code, status, cat, msg)                             \
    { code, msg, status, S3_ERRCAT_##cat },
static const s3_err_entry_t s3_err_table[] = {
    S3_ERRORS(S3_ERR_ROW)
};
#undef S3_ERR_ROW


static const s3_err_entry_t *
s3_err_entry(s3_err_t e)
{
    if ((unsigned) e >= S3_ERR_MAX) {
        e = S3_ERR_INTERNAL;
    }

    return &s3_err_table[e];
}


const char *
s3_err_code(s3_err_t e)
{
    return s3_err_entry(e)->code;
}


const char *
s3_err_message(s3_err_t e)
{
    return s3_err_entry(e)->message;
}


int
s3_err_status(s3_err_t e)
{
    return s3_err_entry(e)->status;
}


s3_errcat_t
s3_err_category(s3_err_t e)
{
    return s3_err_entry(e)->category;
}
