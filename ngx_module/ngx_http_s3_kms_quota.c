
/*
 * Request-rate quota per account, shared by all workers: a token bucket
 * per account in a shared memory zone (s3_kms_quota rate [burst=N]).
 * Past it, cryptographic calls get ThrottlingException, which the SDKs
 * retry with back-off, as they do with AWS KMS's own quota.
 */


#include "ngx_http_s3_kms.h"


typedef struct {
    u_char                 account[16];
    uint64_t               tokens;          /* thousandths of a request */
    ngx_msec_t             last;
} ngx_http_s3_kms_bucket_t;


typedef struct {
    ngx_uint_t                 n;
    ngx_http_s3_kms_bucket_t   bucket[1];
} ngx_http_s3_kms_quota_sh_t;


ngx_int_t
ngx_http_s3_kms_quota_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                        i, j, n, count;
    ngx_slab_pool_t              *shpool;
    const kms_cred_t             *cred;
    ngx_http_s3_kms_quota_sh_t   *sh;
    ngx_http_s3_kms_main_conf_t  *mcf = shm_zone->data;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    /*
     * On reload the zone is rebuilt: the credentials (so the accounts) may
     * have changed, and a bucket refilled from empty costs nothing.
     */

    count = kms_creds_count(mcf->creds);

    if (data != NULL && shpool->data != NULL) {
        ngx_slab_free(shpool, shpool->data);
        shpool->data = NULL;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_s3_kms_quota_sh_t)
                                 + count * sizeof(ngx_http_s3_kms_bucket_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < count; i++) {
        cred = kms_creds_get(mcf->creds, i);

        for (j = 0; j < n; j++) {
            if (ngx_strcmp(sh->bucket[j].account, cred->account) == 0) {
                break;
            }
        }

        if (j < n) {
            continue;
        }

        ngx_cpystrn(sh->bucket[n].account, (u_char *) cred->account,
                    sizeof(sh->bucket[n].account));
        sh->bucket[n].tokens = (uint64_t) mcf->quota_burst * 1000;
        sh->bucket[n].last = ngx_current_msec;
        n++;
    }

    sh->n = n;
    shpool->data = sh;

    return NGX_OK;
}


/* NGX_OK: go on; NGX_DECLINED: throttled */

ngx_int_t
ngx_http_s3_kms_quota_take(ngx_http_s3_kms_main_conf_t *mcf,
    const char *account)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    uint64_t                     cap, add;
    ngx_msec_t                   now, elapsed;
    ngx_slab_pool_t             *shpool;
    ngx_http_s3_kms_bucket_t    *b;
    ngx_http_s3_kms_quota_sh_t  *sh;

    if (mcf->quota_zone == NULL || mcf->quota_rate == 0 || account == NULL) {
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) mcf->quota_zone->shm.addr;
    sh = shpool->data;
    now = ngx_current_msec;
    cap = (uint64_t) mcf->quota_burst * 1000;
    rc = NGX_OK;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < sh->n; i++) {
        b = &sh->bucket[i];

        if (ngx_strcmp(b->account, account) != 0) {
            continue;
        }

        elapsed = now - b->last;
        if ((ngx_msec_int_t) elapsed > 0) {
            add = (uint64_t) elapsed * mcf->quota_rate;
            b->tokens = (b->tokens + add > cap) ? cap : b->tokens + add;
            b->last = now;
        }

        if (b->tokens >= 1000) {
            b->tokens -= 1000;

        } else {
            rc = NGX_DECLINED;
        }

        break;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return rc;
}
