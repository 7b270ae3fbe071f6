#include "kms_err.h"

typedef struct {
    const char  *type;
    const char  *message;
    int          status;
} kms_err_entry_t;

#define KMS_ERR_ROW(name, type, status, msg)  { type, msg, status },
static const kms_err_entry_t kms_err_table[] = {
    KMS_ERRORS(KMS_ERR_ROW)
};
#undef KMS_ERR_ROW


static const kms_err_entry_t *
kms_err_entry(kms_err_t e)
{
    if ((unsigned) e >= KMS_ERR_MAX) {
        e = KMS_ERR_INTERNAL;
    }

    return &kms_err_table[e];
}


const char *
kms_err_type(kms_err_t e)
{
    return kms_err_entry(e)->type;
}


const char *
kms_err_message(kms_err_t e)
{
    return kms_err_entry(e)->message;
}


int
kms_err_status(kms_err_t e)
{
    return kms_err_entry(e)->status;
}
