/*
 * Body checksums for S3: CRC32 (zlib), CRC32C (SSE4.2 crc32 instruction
 * when the CPU has it, else slicing-by-8), CRC64NVME (slicing-by-8),
 * SHA-1 and MD5 (OpenSSL EVP, fetched once), SHA-256 (kms_crypto).
 *
 * The slicing tables are constants generated offline (reflected
 * polynomials 0x82f63b78 and 0x9a6c9329ac4bc9b5): no table is built at
 * run time, so there is no mutable global state apart from the fetched
 * digests.
 */

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <zlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define S3_CRC32C_SSE42  1
#endif

#include "kms_crypto.h"
#include "s3_checksum.h"


typedef struct {
    s3_checksum_alg_t   alg;
    const char         *header;
    const char         *name;
    size_t              len;
} s3_checksum_info_t;


static const s3_checksum_info_t  s3_checksum_info[] = {
    { S3_CKSUM_NONE,      "",                        "",          0 },
    { S3_CKSUM_CRC32,     "x-amz-checksum-crc32",     "CRC32",     4 },
    { S3_CKSUM_CRC32C,    "x-amz-checksum-crc32c",    "CRC32C",    4 },
    { S3_CKSUM_CRC64NVME, "x-amz-checksum-crc64nvme", "CRC64NVME", 8 },
    { S3_CKSUM_SHA1,      "x-amz-checksum-sha1",      "SHA1",      20 },
    { S3_CKSUM_SHA256,    "x-amz-checksum-sha256",    "SHA256",    32 },
    { S3_CKSUM_MD5,       "",                        "MD5",       16 }
};

#define S3_CKSUM_COUNT                                                       \
    (sizeof(s3_checksum_info) / sizeof(s3_checksum_info[0]))


static const EVP_MD *s3_checksum_md(s3_checksum_alg_t alg);
static uint32_t s3_crc32c_hw(uint32_t crc, const unsigned char *p,
    size_t len);
static int s3_casecmp(const void *a, const char *lit, size_t len);


static EVP_MD  *s3_md_sha1;
static EVP_MD  *s3_md_md5;


/*
 * Slicing-by-8 tables, generated: t[0][i] is the CRC step of byte i,
 * t[k][i] = (t[k-1][i] >> 8) ^ t[0][t[k-1][i] & 0xff].
 */

static const uint32_t  s3_crc32c_table[8][256] = {
    {
        0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c,
        0x26a1e7e8, 0xd4ca64eb, 0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
        0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24, 0x105ec76f, 0xe235446c,
        0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
        0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc,
        0xbc267848, 0x4e4dfb4b, 0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
        0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35, 0xaa64d611, 0x580f5512,
        0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
        0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad,
        0x1642ae59, 0xe4292d5a, 0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
        0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595, 0x417b1dbc, 0xb3109ebf,
        0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
        0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f,
        0xed03a29b, 0x1f682198, 0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
        0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38, 0xdbfc821c, 0x2997011f,
        0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
        0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e,
        0x4767748a, 0xb50cf789, 0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
        0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46, 0x7198540d, 0x83f3d70e,
        0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
        0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de,
        0xdde0eb2a, 0x2f8b6829, 0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
        0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93, 0x082f63b7, 0xfa44e0b4,
        0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
        0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b,
        0xb4091bff, 0x466298fc, 0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
        0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033, 0xa24bb5a6, 0x502036a5,
        0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
        0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975,
        0x0e330a81, 0xfc588982, 0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
        0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622, 0x38cc2a06, 0xcaa7a905,
        0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
        0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8,
        0xe52cc12c, 0x1747422f, 0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
        0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0, 0xd3d3e1ab, 0x21b862a8,
        0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
        0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78,
        0x7fab5e8c, 0x8dc0dd8f, 0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
        0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1, 0x69e9f0d5, 0x9b8273d6,
        0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
        0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69,
        0xd5cf889d, 0x27a40b9e, 0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
        0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351
    },
    {
        0x00000000, 0x13a29877, 0x274530ee, 0x34e7a899, 0x4e8a61dc, 0x5d28f9ab,
        0x69cf5132, 0x7a6dc945, 0x9d14c3b8, 0x8eb65bcf, 0xba51f356, 0xa9f36b21,
        0xd39ea264, 0xc03c3a13, 0xf4db928a, 0xe7790afd, 0x3fc5f181, 0x2c6769f6,
        0x1880c16f, 0x0b225918, 0x714f905d, 0x62ed082a, 0x560aa0b3, 0x45a838c4,
        0xa2d13239, 0xb173aa4e, 0x859402d7, 0x96369aa0, 0xec5b53e5, 0xfff9cb92,
        0xcb1e630b, 0xd8bcfb7c, 0x7f8be302, 0x6c297b75, 0x58ced3ec, 0x4b6c4b9b,
        0x310182de, 0x22a31aa9, 0x1644b230, 0x05e62a47, 0xe29f20ba, 0xf13db8cd,
        0xc5da1054, 0xd6788823, 0xac154166, 0xbfb7d911, 0x8b507188, 0x98f2e9ff,
        0x404e1283, 0x53ec8af4, 0x670b226d, 0x74a9ba1a, 0x0ec4735f, 0x1d66eb28,
        0x298143b1, 0x3a23dbc6, 0xdd5ad13b, 0xcef8494c, 0xfa1fe1d5, 0xe9bd79a2,
        0x93d0b0e7, 0x80722890, 0xb4958009, 0xa737187e, 0xff17c604, 0xecb55e73,
        0xd852f6ea, 0xcbf06e9d, 0xb19da7d8, 0xa23f3faf, 0x96d89736, 0x857a0f41,
        0x620305bc, 0x71a19dcb, 0x45463552, 0x56e4ad25, 0x2c896460, 0x3f2bfc17,
        0x0bcc548e, 0x186eccf9, 0xc0d23785, 0xd370aff2, 0xe797076b, 0xf4359f1c,
        0x8e585659, 0x9dface2e, 0xa91d66b7, 0xbabffec0, 0x5dc6f43d, 0x4e646c4a,
        0x7a83c4d3, 0x69215ca4, 0x134c95e1, 0x00ee0d96, 0x3409a50f, 0x27ab3d78,
        0x809c2506, 0x933ebd71, 0xa7d915e8, 0xb47b8d9f, 0xce1644da, 0xddb4dcad,
        0xe9537434, 0xfaf1ec43, 0x1d88e6be, 0x0e2a7ec9, 0x3acdd650, 0x296f4e27,
        0x53028762, 0x40a01f15, 0x7447b78c, 0x67e52ffb, 0xbf59d487, 0xacfb4cf0,
        0x981ce469, 0x8bbe7c1e, 0xf1d3b55b, 0xe2712d2c, 0xd69685b5, 0xc5341dc2,
        0x224d173f, 0x31ef8f48, 0x050827d1, 0x16aabfa6, 0x6cc776e3, 0x7f65ee94,
        0x4b82460d, 0x5820de7a, 0xfbc3faf9, 0xe861628e, 0xdc86ca17, 0xcf245260,
        0xb5499b25, 0xa6eb0352, 0x920cabcb, 0x81ae33bc, 0x66d73941, 0x7575a136,
        0x419209af, 0x523091d8, 0x285d589d, 0x3bffc0ea, 0x0f186873, 0x1cbaf004,
        0xc4060b78, 0xd7a4930f, 0xe3433b96, 0xf0e1a3e1, 0x8a8c6aa4, 0x992ef2d3,
        0xadc95a4a, 0xbe6bc23d, 0x5912c8c0, 0x4ab050b7, 0x7e57f82e, 0x6df56059,
        0x1798a91c, 0x043a316b, 0x30dd99f2, 0x237f0185, 0x844819fb, 0x97ea818c,
        0xa30d2915, 0xb0afb162, 0xcac27827, 0xd960e050, 0xed8748c9, 0xfe25d0be,
        0x195cda43, 0x0afe4234, 0x3e19eaad, 0x2dbb72da, 0x57d6bb9f, 0x447423e8,
        0x70938b71, 0x63311306, 0xbb8de87a, 0xa82f700d, 0x9cc8d894, 0x8f6a40e3,
        0xf50789a6, 0xe6a511d1, 0xd242b948, 0xc1e0213f, 0x26992bc2, 0x353bb3b5,
        0x01dc1b2c, 0x127e835b, 0x68134a1e, 0x7bb1d269, 0x4f567af0, 0x5cf4e287,
        0x04d43cfd, 0x1776a48a, 0x23910c13, 0x30339464, 0x4a5e5d21, 0x59fcc556,
        0x6d1b6dcf, 0x7eb9f5b8, 0x99c0ff45, 0x8a626732, 0xbe85cfab, 0xad2757dc,
        0xd74a9e99, 0xc4e806ee, 0xf00fae77, 0xe3ad3600, 0x3b11cd7c, 0x28b3550b,
        0x1c54fd92, 0x0ff665e5, 0x759baca0, 0x663934d7, 0x52de9c4e, 0x417c0439,
        0xa6050ec4, 0xb5a796b3, 0x81403e2a, 0x92e2a65d, 0xe88f6f18, 0xfb2df76f,
        0xcfca5ff6, 0xdc68c781, 0x7b5fdfff, 0x68fd4788, 0x5c1aef11, 0x4fb87766,
        0x35d5be23, 0x26772654, 0x12908ecd, 0x013216ba, 0xe64b1c47, 0xf5e98430,
        0xc10e2ca9, 0xd2acb4de, 0xa8c17d9b, 0xbb63e5ec, 0x8f844d75, 0x9c26d502,
        0x449a2e7e, 0x5738b609, 0x63df1e90, 0x707d86e7, 0x0a104fa2, 0x19b2d7d5,
        0x2d557f4c, 0x3ef7e73b, 0xd98eedc6, 0xca2c75b1, 0xfecbdd28, 0xed69455f,
        0x97048c1a, 0x84a6146d, 0xb041bcf4, 0xa3e32483
    },
    {
        0x00000000, 0xa541927e, 0x4f6f520d, 0xea2ec073, 0x9edea41a, 0x3b9f3664,
        0xd1b1f617, 0x74f06469, 0x38513ec5, 0x9d10acbb, 0x773e6cc8, 0xd27ffeb6,
        0xa68f9adf, 0x03ce08a1, 0xe9e0c8d2, 0x4ca15aac, 0x70a27d8a, 0xd5e3eff4,
        0x3fcd2f87, 0x9a8cbdf9, 0xee7cd990, 0x4b3d4bee, 0xa1138b9d, 0x045219e3,
        0x48f3434f, 0xedb2d131, 0x079c1142, 0xa2dd833c, 0xd62de755, 0x736c752b,
        0x9942b558, 0x3c032726, 0xe144fb14, 0x4405696a, 0xae2ba919, 0x0b6a3b67,
        0x7f9a5f0e, 0xdadbcd70, 0x30f50d03, 0x95b49f7d, 0xd915c5d1, 0x7c5457af,
        0x967a97dc, 0x333b05a2, 0x47cb61cb, 0xe28af3b5, 0x08a433c6, 0xade5a1b8,
        0x91e6869e, 0x34a714e0, 0xde89d493, 0x7bc846ed, 0x0f382284, 0xaa79b0fa,
        0x40577089, 0xe516e2f7, 0xa9b7b85b, 0x0cf62a25, 0xe6d8ea56, 0x43997828,
        0x37691c41, 0x92288e3f, 0x78064e4c, 0xdd47dc32, 0xc76580d9, 0x622412a7,
        0x880ad2d4, 0x2d4b40aa, 0x59bb24c3, 0xfcfab6bd, 0x16d476ce, 0xb395e4b0,
        0xff34be1c, 0x5a752c62, 0xb05bec11, 0x151a7e6f, 0x61ea1a06, 0xc4ab8878,
        0x2e85480b, 0x8bc4da75, 0xb7c7fd53, 0x12866f2d, 0xf8a8af5e, 0x5de93d20,
        0x29195949, 0x8c58cb37, 0x66760b44, 0xc337993a, 0x8f96c396, 0x2ad751e8,
        0xc0f9919b, 0x65b803e5, 0x1148678c, 0xb409f5f2, 0x5e273581, 0xfb66a7ff,
        0x26217bcd, 0x8360e9b3, 0x694e29c0, 0xcc0fbbbe, 0xb8ffdfd7, 0x1dbe4da9,
        0xf7908dda, 0x52d11fa4, 0x1e704508, 0xbb31d776, 0x511f1705, 0xf45e857b,
        0x80aee112, 0x25ef736c, 0xcfc1b31f, 0x6a802161, 0x56830647, 0xf3c29439,
        0x19ec544a, 0xbcadc634, 0xc85da25d, 0x6d1c3023, 0x8732f050, 0x2273622e,
        0x6ed23882, 0xcb93aafc, 0x21bd6a8f, 0x84fcf8f1, 0xf00c9c98, 0x554d0ee6,
        0xbf63ce95, 0x1a225ceb, 0x8b277743, 0x2e66e53d, 0xc448254e, 0x6109b730,
        0x15f9d359, 0xb0b84127, 0x5a968154, 0xffd7132a, 0xb3764986, 0x1637dbf8,
        0xfc191b8b, 0x595889f5, 0x2da8ed9c, 0x88e97fe2, 0x62c7bf91, 0xc7862def,
        0xfb850ac9, 0x5ec498b7, 0xb4ea58c4, 0x11abcaba, 0x655baed3, 0xc01a3cad,
        0x2a34fcde, 0x8f756ea0, 0xc3d4340c, 0x6695a672, 0x8cbb6601, 0x29faf47f,
        0x5d0a9016, 0xf84b0268, 0x1265c21b, 0xb7245065, 0x6a638c57, 0xcf221e29,
        0x250cde5a, 0x804d4c24, 0xf4bd284d, 0x51fcba33, 0xbbd27a40, 0x1e93e83e,
        0x5232b292, 0xf77320ec, 0x1d5de09f, 0xb81c72e1, 0xccec1688, 0x69ad84f6,
        0x83834485, 0x26c2d6fb, 0x1ac1f1dd, 0xbf8063a3, 0x55aea3d0, 0xf0ef31ae,
        0x841f55c7, 0x215ec7b9, 0xcb7007ca, 0x6e3195b4, 0x2290cf18, 0x87d15d66,
        0x6dff9d15, 0xc8be0f6b, 0xbc4e6b02, 0x190ff97c, 0xf321390f, 0x5660ab71,
        0x4c42f79a, 0xe90365e4, 0x032da597, 0xa66c37e9, 0xd29c5380, 0x77ddc1fe,
        0x9df3018d, 0x38b293f3, 0x7413c95f, 0xd1525b21, 0x3b7c9b52, 0x9e3d092c,
        0xeacd6d45, 0x4f8cff3b, 0xa5a23f48, 0x00e3ad36, 0x3ce08a10, 0x99a1186e,
        0x738fd81d, 0xd6ce4a63, 0xa23e2e0a, 0x077fbc74, 0xed517c07, 0x4810ee79,
        0x04b1b4d5, 0xa1f026ab, 0x4bdee6d8, 0xee9f74a6, 0x9a6f10cf, 0x3f2e82b1,
        0xd50042c2, 0x7041d0bc, 0xad060c8e, 0x08479ef0, 0xe2695e83, 0x4728ccfd,
        0x33d8a894, 0x96993aea, 0x7cb7fa99, 0xd9f668e7, 0x9557324b, 0x3016a035,
        0xda386046, 0x7f79f238, 0x0b899651, 0xaec8042f, 0x44e6c45c, 0xe1a75622,
        0xdda47104, 0x78e5e37a, 0x92cb2309, 0x378ab177, 0x437ad51e, 0xe63b4760,
        0x0c158713, 0xa954156d, 0xe5f54fc1, 0x40b4ddbf, 0xaa9a1dcc, 0x0fdb8fb2,
        0x7b2bebdb, 0xde6a79a5, 0x3444b9d6, 0x91052ba8
    },
    {
        0x00000000, 0xdd45aab8, 0xbf672381, 0x62228939, 0x7b2231f3, 0xa6679b4b,
        0xc4451272, 0x1900b8ca, 0xf64463e6, 0x2b01c95e, 0x49234067, 0x9466eadf,
        0x8d665215, 0x5023f8ad, 0x32017194, 0xef44db2c, 0xe964b13d, 0x34211b85,
        0x560392bc, 0x8b463804, 0x924680ce, 0x4f032a76, 0x2d21a34f, 0xf06409f7,
        0x1f20d2db, 0xc2657863, 0xa047f15a, 0x7d025be2, 0x6402e328, 0xb9474990,
        0xdb65c0a9, 0x06206a11, 0xd725148b, 0x0a60be33, 0x6842370a, 0xb5079db2,
        0xac072578, 0x71428fc0, 0x136006f9, 0xce25ac41, 0x2161776d, 0xfc24ddd5,
        0x9e0654ec, 0x4343fe54, 0x5a43469e, 0x8706ec26, 0xe524651f, 0x3861cfa7,
        0x3e41a5b6, 0xe3040f0e, 0x81268637, 0x5c632c8f, 0x45639445, 0x98263efd,
        0xfa04b7c4, 0x27411d7c, 0xc805c650, 0x15406ce8, 0x7762e5d1, 0xaa274f69,
        0xb327f7a3, 0x6e625d1b, 0x0c40d422, 0xd1057e9a, 0xaba65fe7, 0x76e3f55f,
        0x14c17c66, 0xc984d6de, 0xd0846e14, 0x0dc1c4ac, 0x6fe34d95, 0xb2a6e72d,
        0x5de23c01, 0x80a796b9, 0xe2851f80, 0x3fc0b538, 0x26c00df2, 0xfb85a74a,
        0x99a72e73, 0x44e284cb, 0x42c2eeda, 0x9f874462, 0xfda5cd5b, 0x20e067e3,
        0x39e0df29, 0xe4a57591, 0x8687fca8, 0x5bc25610, 0xb4868d3c, 0x69c32784,
        0x0be1aebd, 0xd6a40405, 0xcfa4bccf, 0x12e11677, 0x70c39f4e, 0xad8635f6,
        0x7c834b6c, 0xa1c6e1d4, 0xc3e468ed, 0x1ea1c255, 0x07a17a9f, 0xdae4d027,
        0xb8c6591e, 0x6583f3a6, 0x8ac7288a, 0x57828232, 0x35a00b0b, 0xe8e5a1b3,
        0xf1e51979, 0x2ca0b3c1, 0x4e823af8, 0x93c79040, 0x95e7fa51, 0x48a250e9,
        0x2a80d9d0, 0xf7c57368, 0xeec5cba2, 0x3380611a, 0x51a2e823, 0x8ce7429b,
        0x63a399b7, 0xbee6330f, 0xdcc4ba36, 0x0181108e, 0x1881a844, 0xc5c402fc,
        0xa7e68bc5, 0x7aa3217d, 0x52a0c93f, 0x8fe56387, 0xedc7eabe, 0x30824006,
        0x2982f8cc, 0xf4c75274, 0x96e5db4d, 0x4ba071f5, 0xa4e4aad9, 0x79a10061,
        0x1b838958, 0xc6c623e0, 0xdfc69b2a, 0x02833192, 0x60a1b8ab, 0xbde41213,
        0xbbc47802, 0x6681d2ba, 0x04a35b83, 0xd9e6f13b, 0xc0e649f1, 0x1da3e349,
        0x7f816a70, 0xa2c4c0c8, 0x4d801be4, 0x90c5b15c, 0xf2e73865, 0x2fa292dd,
        0x36a22a17, 0xebe780af, 0x89c50996, 0x5480a32e, 0x8585ddb4, 0x58c0770c,
        0x3ae2fe35, 0xe7a7548d, 0xfea7ec47, 0x23e246ff, 0x41c0cfc6, 0x9c85657e,
        0x73c1be52, 0xae8414ea, 0xcca69dd3, 0x11e3376b, 0x08e38fa1, 0xd5a62519,
        0xb784ac20, 0x6ac10698, 0x6ce16c89, 0xb1a4c631, 0xd3864f08, 0x0ec3e5b0,
        0x17c35d7a, 0xca86f7c2, 0xa8a47efb, 0x75e1d443, 0x9aa50f6f, 0x47e0a5d7,
        0x25c22cee, 0xf8878656, 0xe1873e9c, 0x3cc29424, 0x5ee01d1d, 0x83a5b7a5,
        0xf90696d8, 0x24433c60, 0x4661b559, 0x9b241fe1, 0x8224a72b, 0x5f610d93,
        0x3d4384aa, 0xe0062e12, 0x0f42f53e, 0xd2075f86, 0xb025d6bf, 0x6d607c07,
        0x7460c4cd, 0xa9256e75, 0xcb07e74c, 0x16424df4, 0x106227e5, 0xcd278d5d,
        0xaf050464, 0x7240aedc, 0x6b401616, 0xb605bcae, 0xd4273597, 0x09629f2f,
        0xe6264403, 0x3b63eebb, 0x59416782, 0x8404cd3a, 0x9d0475f0, 0x4041df48,
        0x22635671, 0xff26fcc9, 0x2e238253, 0xf36628eb, 0x9144a1d2, 0x4c010b6a,
        0x5501b3a0, 0x88441918, 0xea669021, 0x37233a99, 0xd867e1b5, 0x05224b0d,
        0x6700c234, 0xba45688c, 0xa345d046, 0x7e007afe, 0x1c22f3c7, 0xc167597f,
        0xc747336e, 0x1a0299d6, 0x782010ef, 0xa565ba57, 0xbc65029d, 0x6120a825,
        0x0302211c, 0xde478ba4, 0x31035088, 0xec46fa30, 0x8e647309, 0x5321d9b1,
        0x4a21617b, 0x9764cbc3, 0xf54642fa, 0x2803e842
    },
    {
        0x00000000, 0x38116fac, 0x7022df58, 0x4833b0f4, 0xe045beb0, 0xd854d11c,
        0x906761e8, 0xa8760e44, 0xc5670b91, 0xfd76643d, 0xb545d4c9, 0x8d54bb65,
        0x2522b521, 0x1d33da8d, 0x55006a79, 0x6d1105d5, 0x8f2261d3, 0xb7330e7f,
        0xff00be8b, 0xc711d127, 0x6f67df63, 0x5776b0cf, 0x1f45003b, 0x27546f97,
        0x4a456a42, 0x725405ee, 0x3a67b51a, 0x0276dab6, 0xaa00d4f2, 0x9211bb5e,
        0xda220baa, 0xe2336406, 0x1ba8b557, 0x23b9dafb, 0x6b8a6a0f, 0x539b05a3,
        0xfbed0be7, 0xc3fc644b, 0x8bcfd4bf, 0xb3debb13, 0xdecfbec6, 0xe6ded16a,
        0xaeed619e, 0x96fc0e32, 0x3e8a0076, 0x069b6fda, 0x4ea8df2e, 0x76b9b082,
        0x948ad484, 0xac9bbb28, 0xe4a80bdc, 0xdcb96470, 0x74cf6a34, 0x4cde0598,
        0x04edb56c, 0x3cfcdac0, 0x51eddf15, 0x69fcb0b9, 0x21cf004d, 0x19de6fe1,
        0xb1a861a5, 0x89b90e09, 0xc18abefd, 0xf99bd151, 0x37516aae, 0x0f400502,
        0x4773b5f6, 0x7f62da5a, 0xd714d41e, 0xef05bbb2, 0xa7360b46, 0x9f2764ea,
        0xf236613f, 0xca270e93, 0x8214be67, 0xba05d1cb, 0x1273df8f, 0x2a62b023,
        0x625100d7, 0x5a406f7b, 0xb8730b7d, 0x806264d1, 0xc851d425, 0xf040bb89,
        0x5836b5cd, 0x6027da61, 0x28146a95, 0x10050539, 0x7d1400ec, 0x45056f40,
        0x0d36dfb4, 0x3527b018, 0x9d51be5c, 0xa540d1f0, 0xed736104, 0xd5620ea8,
        0x2cf9dff9, 0x14e8b055, 0x5cdb00a1, 0x64ca6f0d, 0xccbc6149, 0xf4ad0ee5,
        0xbc9ebe11, 0x848fd1bd, 0xe99ed468, 0xd18fbbc4, 0x99bc0b30, 0xa1ad649c,
        0x09db6ad8, 0x31ca0574, 0x79f9b580, 0x41e8da2c, 0xa3dbbe2a, 0x9bcad186,
        0xd3f96172, 0xebe80ede, 0x439e009a, 0x7b8f6f36, 0x33bcdfc2, 0x0badb06e,
        0x66bcb5bb, 0x5eadda17, 0x169e6ae3, 0x2e8f054f, 0x86f90b0b, 0xbee864a7,
        0xf6dbd453, 0xcecabbff, 0x6ea2d55c, 0x56b3baf0, 0x1e800a04, 0x269165a8,
        0x8ee76bec, 0xb6f60440, 0xfec5b4b4, 0xc6d4db18, 0xabc5decd, 0x93d4b161,
        0xdbe70195, 0xe3f66e39, 0x4b80607d, 0x73910fd1, 0x3ba2bf25, 0x03b3d089,
        0xe180b48f, 0xd991db23, 0x91a26bd7, 0xa9b3047b, 0x01c50a3f, 0x39d46593,
        0x71e7d567, 0x49f6bacb, 0x24e7bf1e, 0x1cf6d0b2, 0x54c56046, 0x6cd40fea,
        0xc4a201ae, 0xfcb36e02, 0xb480def6, 0x8c91b15a, 0x750a600b, 0x4d1b0fa7,
        0x0528bf53, 0x3d39d0ff, 0x954fdebb, 0xad5eb117, 0xe56d01e3, 0xdd7c6e4f,
        0xb06d6b9a, 0x887c0436, 0xc04fb4c2, 0xf85edb6e, 0x5028d52a, 0x6839ba86,
        0x200a0a72, 0x181b65de, 0xfa2801d8, 0xc2396e74, 0x8a0ade80, 0xb21bb12c,
        0x1a6dbf68, 0x227cd0c4, 0x6a4f6030, 0x525e0f9c, 0x3f4f0a49, 0x075e65e5,
        0x4f6dd511, 0x777cbabd, 0xdf0ab4f9, 0xe71bdb55, 0xaf286ba1, 0x9739040d,
        0x59f3bff2, 0x61e2d05e, 0x29d160aa, 0x11c00f06, 0xb9b60142, 0x81a76eee,
        0xc994de1a, 0xf185b1b6, 0x9c94b463, 0xa485dbcf, 0xecb66b3b, 0xd4a70497,
        0x7cd10ad3, 0x44c0657f, 0x0cf3d58b, 0x34e2ba27, 0xd6d1de21, 0xeec0b18d,
        0xa6f30179, 0x9ee26ed5, 0x36946091, 0x0e850f3d, 0x46b6bfc9, 0x7ea7d065,
        0x13b6d5b0, 0x2ba7ba1c, 0x63940ae8, 0x5b856544, 0xf3f36b00, 0xcbe204ac,
        0x83d1b458, 0xbbc0dbf4, 0x425b0aa5, 0x7a4a6509, 0x3279d5fd, 0x0a68ba51,
        0xa21eb415, 0x9a0fdbb9, 0xd23c6b4d, 0xea2d04e1, 0x873c0134, 0xbf2d6e98,
        0xf71ede6c, 0xcf0fb1c0, 0x6779bf84, 0x5f68d028, 0x175b60dc, 0x2f4a0f70,
        0xcd796b76, 0xf56804da, 0xbd5bb42e, 0x854adb82, 0x2d3cd5c6, 0x152dba6a,
        0x5d1e0a9e, 0x650f6532, 0x081e60e7, 0x300f0f4b, 0x783cbfbf, 0x402dd013,
        0xe85bde57, 0xd04ab1fb, 0x9879010f, 0xa0686ea3
    },
    {
        0x00000000, 0xef306b19, 0xdb8ca0c3, 0x34bccbda, 0xb2f53777, 0x5dc55c6e,
        0x697997b4, 0x8649fcad, 0x6006181f, 0x8f367306, 0xbb8ab8dc, 0x54bad3c5,
        0xd2f32f68, 0x3dc34471, 0x097f8fab, 0xe64fe4b2, 0xc00c303e, 0x2f3c5b27,
        0x1b8090fd, 0xf4b0fbe4, 0x72f90749, 0x9dc96c50, 0xa975a78a, 0x4645cc93,
        0xa00a2821, 0x4f3a4338, 0x7b8688e2, 0x94b6e3fb, 0x12ff1f56, 0xfdcf744f,
        0xc973bf95, 0x2643d48c, 0x85f4168d, 0x6ac47d94, 0x5e78b64e, 0xb148dd57,
        0x370121fa, 0xd8314ae3, 0xec8d8139, 0x03bdea20, 0xe5f20e92, 0x0ac2658b,
        0x3e7eae51, 0xd14ec548, 0x570739e5, 0xb83752fc, 0x8c8b9926, 0x63bbf23f,
        0x45f826b3, 0xaac84daa, 0x9e748670, 0x7144ed69, 0xf70d11c4, 0x183d7add,
        0x2c81b107, 0xc3b1da1e, 0x25fe3eac, 0xcace55b5, 0xfe729e6f, 0x1142f576,
        0x970b09db, 0x783b62c2, 0x4c87a918, 0xa3b7c201, 0x0e045beb, 0xe13430f2,
        0xd588fb28, 0x3ab89031, 0xbcf16c9c, 0x53c10785, 0x677dcc5f, 0x884da746,
        0x6e0243f4, 0x813228ed, 0xb58ee337, 0x5abe882e, 0xdcf77483, 0x33c71f9a,
        0x077bd440, 0xe84bbf59, 0xce086bd5, 0x213800cc, 0x1584cb16, 0xfab4a00f,
        0x7cfd5ca2, 0x93cd37bb, 0xa771fc61, 0x48419778, 0xae0e73ca, 0x413e18d3,
        0x7582d309, 0x9ab2b810, 0x1cfb44bd, 0xf3cb2fa4, 0xc777e47e, 0x28478f67,
        0x8bf04d66, 0x64c0267f, 0x507ceda5, 0xbf4c86bc, 0x39057a11, 0xd6351108,
        0xe289dad2, 0x0db9b1cb, 0xebf65579, 0x04c63e60, 0x307af5ba, 0xdf4a9ea3,
        0x5903620e, 0xb6330917, 0x828fc2cd, 0x6dbfa9d4, 0x4bfc7d58, 0xa4cc1641,
        0x9070dd9b, 0x7f40b682, 0xf9094a2f, 0x16392136, 0x2285eaec, 0xcdb581f5,
        0x2bfa6547, 0xc4ca0e5e, 0xf076c584, 0x1f46ae9d, 0x990f5230, 0x763f3929,
        0x4283f2f3, 0xadb399ea, 0x1c08b7d6, 0xf338dccf, 0xc7841715, 0x28b47c0c,
        0xaefd80a1, 0x41cdebb8, 0x75712062, 0x9a414b7b, 0x7c0eafc9, 0x933ec4d0,
        0xa7820f0a, 0x48b26413, 0xcefb98be, 0x21cbf3a7, 0x1577387d, 0xfa475364,
        0xdc0487e8, 0x3334ecf1, 0x0788272b, 0xe8b84c32, 0x6ef1b09f, 0x81c1db86,
        0xb57d105c, 0x5a4d7b45, 0xbc029ff7, 0x5332f4ee, 0x678e3f34, 0x88be542d,
        0x0ef7a880, 0xe1c7c399, 0xd57b0843, 0x3a4b635a, 0x99fca15b, 0x76ccca42,
        0x42700198, 0xad406a81, 0x2b09962c, 0xc439fd35, 0xf08536ef, 0x1fb55df6,
        0xf9fab944, 0x16cad25d, 0x22761987, 0xcd46729e, 0x4b0f8e33, 0xa43fe52a,
        0x90832ef0, 0x7fb345e9, 0x59f09165, 0xb6c0fa7c, 0x827c31a6, 0x6d4c5abf,
        0xeb05a612, 0x0435cd0b, 0x308906d1, 0xdfb96dc8, 0x39f6897a, 0xd6c6e263,
        0xe27a29b9, 0x0d4a42a0, 0x8b03be0d, 0x6433d514, 0x508f1ece, 0xbfbf75d7,
        0x120cec3d, 0xfd3c8724, 0xc9804cfe, 0x26b027e7, 0xa0f9db4a, 0x4fc9b053,
        0x7b757b89, 0x94451090, 0x720af422, 0x9d3a9f3b, 0xa98654e1, 0x46b63ff8,
        0xc0ffc355, 0x2fcfa84c, 0x1b736396, 0xf443088f, 0xd200dc03, 0x3d30b71a,
        0x098c7cc0, 0xe6bc17d9, 0x60f5eb74, 0x8fc5806d, 0xbb794bb7, 0x544920ae,
        0xb206c41c, 0x5d36af05, 0x698a64df, 0x86ba0fc6, 0x00f3f36b, 0xefc39872,
        0xdb7f53a8, 0x344f38b1, 0x97f8fab0, 0x78c891a9, 0x4c745a73, 0xa344316a,
        0x250dcdc7, 0xca3da6de, 0xfe816d04, 0x11b1061d, 0xf7fee2af, 0x18ce89b6,
        0x2c72426c, 0xc3422975, 0x450bd5d8, 0xaa3bbec1, 0x9e87751b, 0x71b71e02,
        0x57f4ca8e, 0xb8c4a197, 0x8c786a4d, 0x63480154, 0xe501fdf9, 0x0a3196e0,
        0x3e8d5d3a, 0xd1bd3623, 0x37f2d291, 0xd8c2b988, 0xec7e7252, 0x034e194b,
        0x8507e5e6, 0x6a378eff, 0x5e8b4525, 0xb1bb2e3c
    },
    {
        0x00000000, 0x68032cc8, 0xd0065990, 0xb8057558, 0xa5e0c5d1, 0xcde3e919,
        0x75e69c41, 0x1de5b089, 0x4e2dfd53, 0x262ed19b, 0x9e2ba4c3, 0xf628880b,
        0xebcd3882, 0x83ce144a, 0x3bcb6112, 0x53c84dda, 0x9c5bfaa6, 0xf458d66e,
        0x4c5da336, 0x245e8ffe, 0x39bb3f77, 0x51b813bf, 0xe9bd66e7, 0x81be4a2f,
        0xd27607f5, 0xba752b3d, 0x02705e65, 0x6a7372ad, 0x7796c224, 0x1f95eeec,
        0xa7909bb4, 0xcf93b77c, 0x3d5b83bd, 0x5558af75, 0xed5dda2d, 0x855ef6e5,
        0x98bb466c, 0xf0b86aa4, 0x48bd1ffc, 0x20be3334, 0x73767eee, 0x1b755226,
        0xa370277e, 0xcb730bb6, 0xd696bb3f, 0xbe9597f7, 0x0690e2af, 0x6e93ce67,
        0xa100791b, 0xc90355d3, 0x7106208b, 0x19050c43, 0x04e0bcca, 0x6ce39002,
        0xd4e6e55a, 0xbce5c992, 0xef2d8448, 0x872ea880, 0x3f2bddd8, 0x5728f110,
        0x4acd4199, 0x22ce6d51, 0x9acb1809, 0xf2c834c1, 0x7ab7077a, 0x12b42bb2,
        0xaab15eea, 0xc2b27222, 0xdf57c2ab, 0xb754ee63, 0x0f519b3b, 0x6752b7f3,
        0x349afa29, 0x5c99d6e1, 0xe49ca3b9, 0x8c9f8f71, 0x917a3ff8, 0xf9791330,
        0x417c6668, 0x297f4aa0, 0xe6ecfddc, 0x8eefd114, 0x36eaa44c, 0x5ee98884,
        0x430c380d, 0x2b0f14c5, 0x930a619d, 0xfb094d55, 0xa8c1008f, 0xc0c22c47,
        0x78c7591f, 0x10c475d7, 0x0d21c55e, 0x6522e996, 0xdd279cce, 0xb524b006,
        0x47ec84c7, 0x2fefa80f, 0x97eadd57, 0xffe9f19f, 0xe20c4116, 0x8a0f6dde,
        0x320a1886, 0x5a09344e, 0x09c17994, 0x61c2555c, 0xd9c72004, 0xb1c40ccc,
        0xac21bc45, 0xc422908d, 0x7c27e5d5, 0x1424c91d, 0xdbb77e61, 0xb3b452a9,
        0x0bb127f1, 0x63b20b39, 0x7e57bbb0, 0x16549778, 0xae51e220, 0xc652cee8,
        0x959a8332, 0xfd99affa, 0x459cdaa2, 0x2d9ff66a, 0x307a46e3, 0x58796a2b,
        0xe07c1f73, 0x887f33bb, 0xf56e0ef4, 0x9d6d223c, 0x25685764, 0x4d6b7bac,
        0x508ecb25, 0x388de7ed, 0x808892b5, 0xe88bbe7d, 0xbb43f3a7, 0xd340df6f,
        0x6b45aa37, 0x034686ff, 0x1ea33676, 0x76a01abe, 0xcea56fe6, 0xa6a6432e,
        0x6935f452, 0x0136d89a, 0xb933adc2, 0xd130810a, 0xccd53183, 0xa4d61d4b,
        0x1cd36813, 0x74d044db, 0x27180901, 0x4f1b25c9, 0xf71e5091, 0x9f1d7c59,
        0x82f8ccd0, 0xeafbe018, 0x52fe9540, 0x3afdb988, 0xc8358d49, 0xa036a181,
        0x1833d4d9, 0x7030f811, 0x6dd54898, 0x05d66450, 0xbdd31108, 0xd5d03dc0,
        0x8618701a, 0xee1b5cd2, 0x561e298a, 0x3e1d0542, 0x23f8b5cb, 0x4bfb9903,
        0xf3feec5b, 0x9bfdc093, 0x546e77ef, 0x3c6d5b27, 0x84682e7f, 0xec6b02b7,
        0xf18eb23e, 0x998d9ef6, 0x2188ebae, 0x498bc766, 0x1a438abc, 0x7240a674,
        0xca45d32c, 0xa246ffe4, 0xbfa34f6d, 0xd7a063a5, 0x6fa516fd, 0x07a63a35,
        0x8fd9098e, 0xe7da2546, 0x5fdf501e, 0x37dc7cd6, 0x2a39cc5f, 0x423ae097,
        0xfa3f95cf, 0x923cb907, 0xc1f4f4dd, 0xa9f7d815, 0x11f2ad4d, 0x79f18185,
        0x6414310c, 0x0c171dc4, 0xb412689c, 0xdc114454, 0x1382f328, 0x7b81dfe0,
        0xc384aab8, 0xab878670, 0xb66236f9, 0xde611a31, 0x66646f69, 0x0e6743a1,
        0x5daf0e7b, 0x35ac22b3, 0x8da957eb, 0xe5aa7b23, 0xf84fcbaa, 0x904ce762,
        0x2849923a, 0x404abef2, 0xb2828a33, 0xda81a6fb, 0x6284d3a3, 0x0a87ff6b,
        0x17624fe2, 0x7f61632a, 0xc7641672, 0xaf673aba, 0xfcaf7760, 0x94ac5ba8,
        0x2ca92ef0, 0x44aa0238, 0x594fb2b1, 0x314c9e79, 0x8949eb21, 0xe14ac7e9,
        0x2ed97095, 0x46da5c5d, 0xfedf2905, 0x96dc05cd, 0x8b39b544, 0xe33a998c,
        0x5b3fecd4, 0x333cc01c, 0x60f48dc6, 0x08f7a10e, 0xb0f2d456, 0xd8f1f89e,
        0xc5144817, 0xad1764df, 0x15121187, 0x7d113d4f
    },
    {
        0x00000000, 0x493c7d27, 0x9278fa4e, 0xdb448769, 0x211d826d, 0x6821ff4a,
        0xb3657823, 0xfa590504, 0x423b04da, 0x0b0779fd, 0xd043fe94, 0x997f83b3,
        0x632686b7, 0x2a1afb90, 0xf15e7cf9, 0xb86201de, 0x847609b4, 0xcd4a7493,
        0x160ef3fa, 0x5f328edd, 0xa56b8bd9, 0xec57f6fe, 0x37137197, 0x7e2f0cb0,
        0xc64d0d6e, 0x8f717049, 0x5435f720, 0x1d098a07, 0xe7508f03, 0xae6cf224,
        0x7528754d, 0x3c14086a, 0x0d006599, 0x443c18be, 0x9f789fd7, 0xd644e2f0,
        0x2c1de7f4, 0x65219ad3, 0xbe651dba, 0xf759609d, 0x4f3b6143, 0x06071c64,
        0xdd439b0d, 0x947fe62a, 0x6e26e32e, 0x271a9e09, 0xfc5e1960, 0xb5626447,
        0x89766c2d, 0xc04a110a, 0x1b0e9663, 0x5232eb44, 0xa86bee40, 0xe1579367,
        0x3a13140e, 0x732f6929, 0xcb4d68f7, 0x827115d0, 0x593592b9, 0x1009ef9e,
        0xea50ea9a, 0xa36c97bd, 0x782810d4, 0x31146df3, 0x1a00cb32, 0x533cb615,
        0x8878317c, 0xc1444c5b, 0x3b1d495f, 0x72213478, 0xa965b311, 0xe059ce36,
        0x583bcfe8, 0x1107b2cf, 0xca4335a6, 0x837f4881, 0x79264d85, 0x301a30a2,
        0xeb5eb7cb, 0xa262caec, 0x9e76c286, 0xd74abfa1, 0x0c0e38c8, 0x453245ef,
        0xbf6b40eb, 0xf6573dcc, 0x2d13baa5, 0x642fc782, 0xdc4dc65c, 0x9571bb7b,
        0x4e353c12, 0x07094135, 0xfd504431, 0xb46c3916, 0x6f28be7f, 0x2614c358,
        0x1700aeab, 0x5e3cd38c, 0x857854e5, 0xcc4429c2, 0x361d2cc6, 0x7f2151e1,
        0xa465d688, 0xed59abaf, 0x553baa71, 0x1c07d756, 0xc743503f, 0x8e7f2d18,
        0x7426281c, 0x3d1a553b, 0xe65ed252, 0xaf62af75, 0x9376a71f, 0xda4ada38,
        0x010e5d51, 0x48322076, 0xb26b2572, 0xfb575855, 0x2013df3c, 0x692fa21b,
        0xd14da3c5, 0x9871dee2, 0x4335598b, 0x0a0924ac, 0xf05021a8, 0xb96c5c8f,
        0x6228dbe6, 0x2b14a6c1, 0x34019664, 0x7d3deb43, 0xa6796c2a, 0xef45110d,
        0x151c1409, 0x5c20692e, 0x8764ee47, 0xce589360, 0x763a92be, 0x3f06ef99,
        0xe44268f0, 0xad7e15d7, 0x572710d3, 0x1e1b6df4, 0xc55fea9d, 0x8c6397ba,
        0xb0779fd0, 0xf94be2f7, 0x220f659e, 0x6b3318b9, 0x916a1dbd, 0xd856609a,
        0x0312e7f3, 0x4a2e9ad4, 0xf24c9b0a, 0xbb70e62d, 0x60346144, 0x29081c63,
        0xd3511967, 0x9a6d6440, 0x4129e329, 0x08159e0e, 0x3901f3fd, 0x703d8eda,
        0xab7909b3, 0xe2457494, 0x181c7190, 0x51200cb7, 0x8a648bde, 0xc358f6f9,
        0x7b3af727, 0x32068a00, 0xe9420d69, 0xa07e704e, 0x5a27754a, 0x131b086d,
        0xc85f8f04, 0x8163f223, 0xbd77fa49, 0xf44b876e, 0x2f0f0007, 0x66337d20,
        0x9c6a7824, 0xd5560503, 0x0e12826a, 0x472eff4d, 0xff4cfe93, 0xb67083b4,
        0x6d3404dd, 0x240879fa, 0xde517cfe, 0x976d01d9, 0x4c2986b0, 0x0515fb97,
        0x2e015d56, 0x673d2071, 0xbc79a718, 0xf545da3f, 0x0f1cdf3b, 0x4620a21c,
        0x9d642575, 0xd4585852, 0x6c3a598c, 0x250624ab, 0xfe42a3c2, 0xb77edee5,
        0x4d27dbe1, 0x041ba6c6, 0xdf5f21af, 0x96635c88, 0xaa7754e2, 0xe34b29c5,
        0x380faeac, 0x7133d38b, 0x8b6ad68f, 0xc256aba8, 0x19122cc1, 0x502e51e6,
        0xe84c5038, 0xa1702d1f, 0x7a34aa76, 0x3308d751, 0xc951d255, 0x806daf72,
        0x5b29281b, 0x1215553c, 0x230138cf, 0x6a3d45e8, 0xb179c281, 0xf845bfa6,
        0x021cbaa2, 0x4b20c785, 0x906440ec, 0xd9583dcb, 0x613a3c15, 0x28064132,
        0xf342c65b, 0xba7ebb7c, 0x4027be78, 0x091bc35f, 0xd25f4436, 0x9b633911,
        0xa777317b, 0xee4b4c5c, 0x350fcb35, 0x7c33b612, 0x866ab316, 0xcf56ce31,
        0x14124958, 0x5d2e347f, 0xe54c35a1, 0xac704886, 0x7734cfef, 0x3e08b2c8,
        0xc451b7cc, 0x8d6dcaeb, 0x56294d82, 0x1f1530a5
    }
};

static const uint64_t  s3_crc64nvme_table[8][256] = {
    {
        0x0000000000000000, 0x7f6ef0c830358979, 0xfedde190606b12f2,
        0x81b31158505e9b8b, 0xc962e5739841b68f, 0xb60c15bba8743ff6,
        0x37bf04e3f82aa47d, 0x48d1f42bc81f2d04, 0xa61cecb46814fe75,
        0xd9721c7c5821770c, 0x58c10d24087fec87, 0x27affdec384a65fe,
        0x6f7e09c7f05548fa, 0x1010f90fc060c183, 0x91a3e857903e5a08,
        0xeecd189fa00bd371, 0x78e0ff3b88be6f81, 0x078e0ff3b88be6f8,
        0x863d1eabe8d57d73, 0xf953ee63d8e0f40a, 0xb1821a4810ffd90e,
        0xceecea8020ca5077, 0x4f5ffbd87094cbfc, 0x30310b1040a14285,
        0xdefc138fe0aa91f4, 0xa192e347d09f188d, 0x2021f21f80c18306,
        0x5f4f02d7b0f40a7f, 0x179ef6fc78eb277b, 0x68f0063448deae02,
        0xe943176c18803589, 0x962de7a428b5bcf0, 0xf1c1fe77117cdf02,
        0x8eaf0ebf2149567b, 0x0f1c1fe77117cdf0, 0x7072ef2f41224489,
        0x38a31b04893d698d, 0x47cdebccb908e0f4, 0xc67efa94e9567b7f,
        0xb9100a5cd963f206, 0x57dd12c379682177, 0x28b3e20b495da80e,
        0xa900f35319033385, 0xd66e039b2936bafc, 0x9ebff7b0e12997f8,
        0xe1d10778d11c1e81, 0x606216208142850a, 0x1f0ce6e8b1770c73,
        0x8921014c99c2b083, 0xf64ff184a9f739fa, 0x77fce0dcf9a9a271,
        0x08921014c99c2b08, 0x4043e43f0183060c, 0x3f2d14f731b68f75,
        0xbe9e05af61e814fe, 0xc1f0f56751dd9d87, 0x2f3dedf8f1d64ef6,
        0x50531d30c1e3c78f, 0xd1e00c6891bd5c04, 0xae8efca0a188d57d,
        0xe65f088b6997f879, 0x9931f84359a27100, 0x1882e91b09fcea8b,
        0x67ec19d339c963f2, 0xd75adabd7a6e2d6f, 0xa8342a754a5ba416,
        0x29873b2d1a053f9d, 0x56e9cbe52a30b6e4, 0x1e383fcee22f9be0,
        0x6156cf06d21a1299, 0xe0e5de5e82448912, 0x9f8b2e96b271006b,
        0x71463609127ad31a, 0x0e28c6c1224f5a63, 0x8f9bd7997211c1e8,
        0xf0f5275142244891, 0xb824d37a8a3b6595, 0xc74a23b2ba0eecec,
        0x46f932eaea507767, 0x3997c222da65fe1e, 0xafba2586f2d042ee,
        0xd0d4d54ec2e5cb97, 0x5167c41692bb501c, 0x2e0934dea28ed965,
        0x66d8c0f56a91f461, 0x19b6303d5aa47d18, 0x980521650afae693,
        0xe76bd1ad3acf6fea, 0x09a6c9329ac4bc9b, 0x76c839faaaf135e2,
        0xf77b28a2faafae69, 0x8815d86aca9a2710, 0xc0c42c4102850a14,
        0xbfaadc8932b0836d, 0x3e19cdd162ee18e6, 0x41773d1952db919f,
        0x269b24ca6b12f26d, 0x59f5d4025b277b14, 0xd846c55a0b79e09f,
        0xa72835923b4c69e6, 0xeff9c1b9f35344e2, 0x90973171c366cd9b,
        0x1124202993385610, 0x6e4ad0e1a30ddf69, 0x8087c87e03060c18,
        0xffe938b633338561, 0x7e5a29ee636d1eea, 0x0134d92653589793,
        0x49e52d0d9b47ba97, 0x368bddc5ab7233ee, 0xb738cc9dfb2ca865,
        0xc8563c55cb19211c, 0x5e7bdbf1e3ac9dec, 0x21152b39d3991495,
        0xa0a63a6183c78f1e, 0xdfc8caa9b3f20667, 0x97193e827bed2b63,
        0xe877ce4a4bd8a21a, 0x69c4df121b863991, 0x16aa2fda2bb3b0e8,
        0xf86737458bb86399, 0x8709c78dbb8deae0, 0x06bad6d5ebd3716b,
        0x79d4261ddbe6f812, 0x3105d23613f9d516, 0x4e6b22fe23cc5c6f,
        0xcfd833a67392c7e4, 0xb0b6c36e43a74e9d, 0x9a6c9329ac4bc9b5,
        0xe50263e19c7e40cc, 0x64b172b9cc20db47, 0x1bdf8271fc15523e,
        0x530e765a340a7f3a, 0x2c608692043ff643, 0xadd397ca54616dc8,
        0xd2bd67026454e4b1, 0x3c707f9dc45f37c0, 0x431e8f55f46abeb9,
        0xc2ad9e0da4342532, 0xbdc36ec59401ac4b, 0xf5129aee5c1e814f,
        0x8a7c6a266c2b0836, 0x0bcf7b7e3c7593bd, 0x74a18bb60c401ac4,
        0xe28c6c1224f5a634, 0x9de29cda14c02f4d, 0x1c518d82449eb4c6,
        0x633f7d4a74ab3dbf, 0x2bee8961bcb410bb, 0x548079a98c8199c2,
        0xd53368f1dcdf0249, 0xaa5d9839ecea8b30, 0x449080a64ce15841,
        0x3bfe706e7cd4d138, 0xba4d61362c8a4ab3, 0xc52391fe1cbfc3ca,
        0x8df265d5d4a0eece, 0xf29c951de49567b7, 0x732f8445b4cbfc3c,
        0x0c41748d84fe7545, 0x6bad6d5ebd3716b7, 0x14c39d968d029fce,
        0x95708ccedd5c0445, 0xea1e7c06ed698d3c, 0xa2cf882d2576a038,
        0xdda178e515432941, 0x5c1269bd451db2ca, 0x237c997575283bb3,
        0xcdb181ead523e8c2, 0xb2df7122e51661bb, 0x336c607ab548fa30,
        0x4c0290b2857d7349, 0x04d364994d625e4d, 0x7bbd94517d57d734,
        0xfa0e85092d094cbf, 0x856075c11d3cc5c6, 0x134d926535897936,
        0x6c2362ad05bcf04f, 0xed9073f555e26bc4, 0x92fe833d65d7e2bd,
        0xda2f7716adc8cfb9, 0xa54187de9dfd46c0, 0x24f29686cda3dd4b,
        0x5b9c664efd965432, 0xb5517ed15d9d8743, 0xca3f8e196da80e3a,
        0x4b8c9f413df695b1, 0x34e26f890dc31cc8, 0x7c339ba2c5dc31cc,
        0x035d6b6af5e9b8b5, 0x82ee7a32a5b7233e, 0xfd808afa9582aa47,
        0x4d364994d625e4da, 0x3258b95ce6106da3, 0xb3eba804b64ef628,
        0xcc8558cc867b7f51, 0x8454ace74e645255, 0xfb3a5c2f7e51db2c,
        0x7a894d772e0f40a7, 0x05e7bdbf1e3ac9de, 0xeb2aa520be311aaf,
        0x944455e88e0493d6, 0x15f744b0de5a085d, 0x6a99b478ee6f8124,
        0x224840532670ac20, 0x5d26b09b16452559, 0xdc95a1c3461bbed2,
        0xa3fb510b762e37ab, 0x35d6b6af5e9b8b5b, 0x4ab846676eae0222,
        0xcb0b573f3ef099a9, 0xb465a7f70ec510d0, 0xfcb453dcc6da3dd4,
        0x83daa314f6efb4ad, 0x0269b24ca6b12f26, 0x7d0742849684a65f,
        0x93ca5a1b368f752e, 0xeca4aad306bafc57, 0x6d17bb8b56e467dc,
        0x12794b4366d1eea5, 0x5aa8bf68aecec3a1, 0x25c64fa09efb4ad8,
        0xa4755ef8cea5d153, 0xdb1bae30fe90582a, 0xbcf7b7e3c7593bd8,
        0xc399472bf76cb2a1, 0x422a5673a732292a, 0x3d44a6bb9707a053,
        0x759552905f188d57, 0x0afba2586f2d042e, 0x8b48b3003f739fa5,
        0xf42643c80f4616dc, 0x1aeb5b57af4dc5ad, 0x6585ab9f9f784cd4,
        0xe436bac7cf26d75f, 0x9b584a0fff135e26, 0xd389be24370c7322,
        0xace74eec0739fa5b, 0x2d545fb4576761d0, 0x523aaf7c6752e8a9,
        0xc41748d84fe75459, 0xbb79b8107fd2dd20, 0x3acaa9482f8c46ab,
        0x45a459801fb9cfd2, 0x0d75adabd7a6e2d6, 0x721b5d63e7936baf,
        0xf3a84c3bb7cdf024, 0x8cc6bcf387f8795d, 0x620ba46c27f3aa2c,
        0x1d6554a417c62355, 0x9cd645fc4798b8de, 0xe3b8b53477ad31a7,
        0xab69411fbfb21ca3, 0xd407b1d78f8795da, 0x55b4a08fdfd90e51,
        0x2ada5047efec8728
    },
    {
        0x0000000000000000, 0x8776a97d73bddf69, 0x3a3474a9bfec2db9,
        0xbd42ddd4cc51f2d0, 0x7468e9537fd85b72, 0xf31e402e0c65841b,
        0x4e5c9dfac03476cb, 0xc92a3487b389a9a2, 0xe8d1d2a6ffb0b6e4,
        0x6fa77bdb8c0d698d, 0xd2e5a60f405c9b5d, 0x55930f7233e14434,
        0x9cb93bf58068ed96, 0x1bcf9288f3d532ff, 0xa68d4f5c3f84c02f,
        0x21fbe6214c391f46, 0xe57a831ea7f6fea3, 0x620c2a63d44b21ca,
        0xdf4ef7b7181ad31a, 0x58385eca6ba70c73, 0x91126a4dd82ea5d1,
        0x1664c330ab937ab8, 0xab261ee467c28868, 0x2c50b799147f5701,
        0x0dab51b858464847, 0x8addf8c52bfb972e, 0x379f2511e7aa65fe,
        0xb0e98c6c9417ba97, 0x79c3b8eb279e1335, 0xfeb511965423cc5c,
        0x43f7cc4298723e8c, 0xc481653febcfe1e5, 0xfe2c206e177a6e2d,
        0x795a891364c7b144, 0xc41854c7a8964394, 0x436efdbadb2b9cfd,
        0x8a44c93d68a2355f, 0x0d3260401b1fea36, 0xb070bd94d74e18e6,
        0x370614e9a4f3c78f, 0x16fdf2c8e8cad8c9, 0x918b5bb59b7707a0,
        0x2cc986615726f570, 0xabbf2f1c249b2a19, 0x62951b9b971283bb,
        0xe5e3b2e6e4af5cd2, 0x58a16f3228feae02, 0xdfd7c64f5b43716b,
        0x1b56a370b08c908e, 0x9c200a0dc3314fe7, 0x2162d7d90f60bd37,
        0xa6147ea47cdd625e, 0x6f3e4a23cf54cbfc, 0xe848e35ebce91495,
        0x550a3e8a70b8e645, 0xd27c97f70305392c, 0xf38771d64f3c266a,
        0x74f1d8ab3c81f903, 0xc9b3057ff0d00bd3, 0x4ec5ac02836dd4ba,
        0x87ef988530e47d18, 0x009931f84359a271, 0xbddbec2c8f0850a1,
        0x3aad4551fcb58fc8, 0xc881668f76634f31, 0x4ff7cff205de9058,
        0xf2b51226c98f6288, 0x75c3bb5bba32bde1, 0xbce98fdc09bb1443,
        0x3b9f26a17a06cb2a, 0x86ddfb75b65739fa, 0x01ab5208c5eae693,
        0x2050b42989d3f9d5, 0xa7261d54fa6e26bc, 0x1a64c080363fd46c,
        0x9d1269fd45820b05, 0x54385d7af60ba2a7, 0xd34ef40785b67dce,
        0x6e0c29d349e78f1e, 0xe97a80ae3a5a5077, 0x2dfbe591d195b192,
        0xaa8d4ceca2286efb, 0x17cf91386e799c2b, 0x90b938451dc44342,
        0x59930cc2ae4deae0, 0xdee5a5bfddf03589, 0x63a7786b11a1c759,
        0xe4d1d116621c1830, 0xc52a37372e250776, 0x425c9e4a5d98d81f,
        0xff1e439e91c92acf, 0x7868eae3e274f5a6, 0xb142de6451fd5c04,
        0x363477192240836d, 0x8b76aacdee1171bd, 0x0c0003b09dacaed4,
        0x36ad46e16119211c, 0xb1dbef9c12a4fe75, 0x0c993248def50ca5,
        0x8bef9b35ad48d3cc, 0x42c5afb21ec17a6e, 0xc5b306cf6d7ca507,
        0x78f1db1ba12d57d7, 0xff877266d29088be, 0xde7c94479ea997f8,
        0x590a3d3aed144891, 0xe448e0ee2145ba41, 0x633e499352f86528,
        0xaa147d14e171cc8a, 0x2d62d46992cc13e3, 0x902009bd5e9de133,
        0x1756a0c02d203e5a, 0xd3d7c5ffc6efdfbf, 0x54a16c82b55200d6,
        0xe9e3b1567903f206, 0x6e95182b0abe2d6f, 0xa7bf2cacb93784cd,
        0x20c985d1ca8a5ba4, 0x9d8b580506dba974, 0x1afdf1787566761d,
        0x3b061759395f695b, 0xbc70be244ae2b632, 0x013263f086b344e2,
        0x8644ca8df50e9b8b, 0x4f6efe0a46873229, 0xc8185777353aed40,
        0x755a8aa3f96b1f90, 0xf22c23de8ad6c0f9, 0xa5dbeb4db4510d09,
        0x22ad4230c7ecd260, 0x9fef9fe40bbd20b0, 0x189936997800ffd9,
        0xd1b3021ecb89567b, 0x56c5ab63b8348912, 0xeb8776b774657bc2,
        0x6cf1dfca07d8a4ab, 0x4d0a39eb4be1bbed, 0xca7c9096385c6484,
        0x773e4d42f40d9654, 0xf048e43f87b0493d, 0x3962d0b83439e09f,
        0xbe1479c547843ff6, 0x0356a4118bd5cd26, 0x84200d6cf868124f,
        0x40a1685313a7f3aa, 0xc7d7c12e601a2cc3, 0x7a951cfaac4bde13,
        0xfde3b587dff6017a, 0x34c981006c7fa8d8, 0xb3bf287d1fc277b1,
        0x0efdf5a9d3938561, 0x898b5cd4a02e5a08, 0xa870baf5ec17454e,
        0x2f0613889faa9a27, 0x9244ce5c53fb68f7, 0x153267212046b79e,
        0xdc1853a693cf1e3c, 0x5b6efadbe072c155, 0xe62c270f2c233385,
        0x615a8e725f9eecec, 0x5bf7cb23a32b6324, 0xdc81625ed096bc4d,
        0x61c3bf8a1cc74e9d, 0xe6b516f76f7a91f4, 0x2f9f2270dcf33856,
        0xa8e98b0daf4ee73f, 0x15ab56d9631f15ef, 0x92ddffa410a2ca86,
        0xb32619855c9bd5c0, 0x3450b0f82f260aa9, 0x89126d2ce377f879,
        0x0e64c45190ca2710, 0xc74ef0d623438eb2, 0x403859ab50fe51db,
        0xfd7a847f9cafa30b, 0x7a0c2d02ef127c62, 0xbe8d483d04dd9d87,
        0x39fbe140776042ee, 0x84b93c94bb31b03e, 0x03cf95e9c88c6f57,
        0xcae5a16e7b05c6f5, 0x4d93081308b8199c, 0xf0d1d5c7c4e9eb4c,
        0x77a77cbab7543425, 0x565c9a9bfb6d2b63, 0xd12a33e688d0f40a,
        0x6c68ee32448106da, 0xeb1e474f373cd9b3, 0x223473c884b57011,
        0xa542dab5f708af78, 0x180007613b595da8, 0x9f76ae1c48e482c1,
        0x6d5a8dc2c2324238, 0xea2c24bfb18f9d51, 0x576ef96b7dde6f81,
        0xd01850160e63b0e8, 0x19326491bdea194a, 0x9e44cdecce57c623,
        0x23061038020634f3, 0xa470b94571bbeb9a, 0x858b5f643d82f4dc,
        0x02fdf6194e3f2bb5, 0xbfbf2bcd826ed965, 0x38c982b0f1d3060c,
        0xf1e3b637425aafae, 0x76951f4a31e770c7, 0xcbd7c29efdb68217,
        0x4ca16be38e0b5d7e, 0x88200edc65c4bc9b, 0x0f56a7a1167963f2,
        0xb2147a75da289122, 0x3562d308a9954e4b, 0xfc48e78f1a1ce7e9,
        0x7b3e4ef269a13880, 0xc67c9326a5f0ca50, 0x410a3a5bd64d1539,
        0x60f1dc7a9a740a7f, 0xe7877507e9c9d516, 0x5ac5a8d3259827c6,
        0xddb301ae5625f8af, 0x14993529e5ac510d, 0x93ef9c5496118e64,
        0x2ead41805a407cb4, 0xa9dbe8fd29fda3dd, 0x9376adacd5482c15,
        0x140004d1a6f5f37c, 0xa942d9056aa401ac, 0x2e3470781919dec5,
        0xe71e44ffaa907767, 0x6068ed82d92da80e, 0xdd2a3056157c5ade,
        0x5a5c992b66c185b7, 0x7ba77f0a2af89af1, 0xfcd1d67759454598,
        0x41930ba39514b748, 0xc6e5a2dee6a96821, 0x0fcf96595520c183,
        0x88b93f24269d1eea, 0x35fbe2f0eaccec3a, 0xb28d4b8d99713353,
        0x760c2eb272bed2b6, 0xf17a87cf01030ddf, 0x4c385a1bcd52ff0f,
        0xcb4ef366beef2066, 0x0264c7e10d6689c4, 0x85126e9c7edb56ad,
        0x3850b348b28aa47d, 0xbf261a35c1377b14, 0x9eddfc148d0e6452,
        0x19ab5569feb3bb3b, 0xa4e988bd32e249eb, 0x239f21c0415f9682,
        0xeab51547f2d63f20, 0x6dc3bc3a816be049, 0xd08161ee4d3a1299,
        0x57f7c8933e87cdf0
    },
    {
        0x0000000000000000, 0xff6e4e1f4e4038be, 0xca05ba6dc417e217,
        0x356bf4728a57daa9, 0xa0d25288d0b85745, 0x5fbc1c979ef86ffb,
        0x6ad7e8e514afb552, 0x95b9a6fa5aef8dec, 0x757d8342f9e73de1,
        0x8a13cd5db7a7055f, 0xbf78392f3df0dff6, 0x4016773073b0e748,
        0xd5afd1ca295f6aa4, 0x2ac19fd5671f521a, 0x1faa6ba7ed4888b3,
        0xe0c425b8a308b00d, 0xeafb0685f3ce7bc2, 0x1595489abd8e437c,
        0x20febce837d999d5, 0xdf90f2f77999a16b, 0x4a29540d23762c87,
        0xb5471a126d361439, 0x802cee60e761ce90, 0x7f42a07fa921f62e,
        0x9f8685c70a294623, 0x60e8cbd844697e9d, 0x55833faace3ea434,
        0xaaed71b5807e9c8a, 0x3f54d74fda911166, 0xc03a995094d129d8,
        0xf5516d221e86f371, 0x0a3f233d50c6cbcf, 0xe12f2b58bf0b64ef,
        0x1e416547f14b5c51, 0x2b2a91357b1c86f8, 0xd444df2a355cbe46,
        0x41fd79d06fb333aa, 0xbe9337cf21f30b14, 0x8bf8c3bdaba4d1bd,
        0x74968da2e5e4e903, 0x9452a81a46ec590e, 0x6b3ce60508ac61b0,
        0x5e57127782fbbb19, 0xa1395c68ccbb83a7, 0x3480fa9296540e4b,
        0xcbeeb48dd81436f5, 0xfe8540ff5243ec5c, 0x01eb0ee01c03d4e2,
        0x0bd42ddd4cc51f2d, 0xf4ba63c202852793, 0xc1d197b088d2fd3a,
        0x3ebfd9afc692c584, 0xab067f559c7d4868, 0x5468314ad23d70d6,
        0x6103c538586aaa7f, 0x9e6d8b27162a92c1, 0x7ea9ae9fb52222cc,
        0x81c7e080fb621a72, 0xb4ac14f27135c0db, 0x4bc25aed3f75f865,
        0xde7bfc17659a7589, 0x2115b2082bda4d37, 0x147e467aa18d979e,
        0xeb100865efcdaf20, 0xf68770e226815ab5, 0x09e93efd68c1620b,
        0x3c82ca8fe296b8a2, 0xc3ec8490acd6801c, 0x5655226af6390df0,
        0xa93b6c75b879354e, 0x9c509807322eefe7, 0x633ed6187c6ed759,
        0x83faf3a0df666754, 0x7c94bdbf91265fea, 0x49ff49cd1b718543,
        0xb69107d25531bdfd, 0x2328a1280fde3011, 0xdc46ef37419e08af,
        0xe92d1b45cbc9d206, 0x1643555a8589eab8, 0x1c7c7667d54f2177,
        0xe31238789b0f19c9, 0xd679cc0a1158c360, 0x291782155f18fbde,
        0xbcae24ef05f77632, 0x43c06af04bb74e8c, 0x76ab9e82c1e09425,
        0x89c5d09d8fa0ac9b, 0x6901f5252ca81c96, 0x966fbb3a62e82428,
        0xa3044f48e8bffe81, 0x5c6a0157a6ffc63f, 0xc9d3a7adfc104bd3,
        0x36bde9b2b250736d, 0x03d61dc03807a9c4, 0xfcb853df7647917a,
        0x17a85bba998a3e5a, 0xe8c615a5d7ca06e4, 0xddade1d75d9ddc4d,
        0x22c3afc813dde4f3, 0xb77a09324932691f, 0x4814472d077251a1,
        0x7d7fb35f8d258b08, 0x8211fd40c365b3b6, 0x62d5d8f8606d03bb,
        0x9dbb96e72e2d3b05, 0xa8d06295a47ae1ac, 0x57be2c8aea3ad912,
        0xc2078a70b0d554fe, 0x3d69c46ffe956c40, 0x0802301d74c2b6e9,
        0xf76c7e023a828e57, 0xfd535d3f6a444598, 0x023d132024047d26,
        0x3756e752ae53a78f, 0xc838a94de0139f31, 0x5d810fb7bafc12dd,
        0xa2ef41a8f4bc2a63, 0x9784b5da7eebf0ca, 0x68eafbc530abc874,
        0x882ede7d93a37879, 0x77409062dde340c7, 0x422b641057b49a6e,
        0xbd452a0f19f4a2d0, 0x28fc8cf5431b2f3c, 0xd792c2ea0d5b1782,
        0xe2f93698870ccd2b, 0x1d977887c94cf595, 0xd9d7c79715952601,
        0x26b989885bd51ebf, 0x13d27dfad182c416, 0xecbc33e59fc2fca8,
        0x7905951fc52d7144, 0x866bdb008b6d49fa, 0xb3002f72013a9353,
        0x4c6e616d4f7aabed, 0xacaa44d5ec721be0, 0x53c40acaa232235e,
        0x66affeb82865f9f7, 0x99c1b0a76625c149, 0x0c78165d3cca4ca5,
        0xf3165842728a741b, 0xc67dac30f8ddaeb2, 0x3913e22fb69d960c,
        0x332cc112e65b5dc3, 0xcc428f0da81b657d, 0xf9297b7f224cbfd4,
        0x064735606c0c876a, 0x93fe939a36e30a86, 0x6c90dd8578a33238,
        0x59fb29f7f2f4e891, 0xa69567e8bcb4d02f, 0x465142501fbc6022,
        0xb93f0c4f51fc589c, 0x8c54f83ddbab8235, 0x733ab62295ebba8b,
        0xe68310d8cf043767, 0x19ed5ec781440fd9, 0x2c86aab50b13d570,
        0xd3e8e4aa4553edce, 0x38f8eccfaa9e42ee, 0xc796a2d0e4de7a50,
        0xf2fd56a26e89a0f9, 0x0d9318bd20c99847, 0x982abe477a2615ab,
        0x6744f05834662d15, 0x522f042abe31f7bc, 0xad414a35f071cf02,
        0x4d856f8d53797f0f, 0xb2eb21921d3947b1, 0x8780d5e0976e9d18,
        0x78ee9bffd92ea5a6, 0xed573d0583c1284a, 0x1239731acd8110f4,
        0x2752876847d6ca5d, 0xd83cc9770996f2e3, 0xd203ea4a5950392c,
        0x2d6da45517100192, 0x180650279d47db3b, 0xe7681e38d307e385,
        0x72d1b8c289e86e69, 0x8dbff6ddc7a856d7, 0xb8d402af4dff8c7e,
        0x47ba4cb003bfb4c0, 0xa77e6908a0b704cd, 0x58102717eef73c73,
        0x6d7bd36564a0e6da, 0x92159d7a2ae0de64, 0x07ac3b80700f5388,
        0xf8c2759f3e4f6b36, 0xcda981edb418b19f, 0x32c7cff2fa588921,
        0x2f50b77533147cb4, 0xd03ef96a7d54440a, 0xe5550d18f7039ea3,
        0x1a3b4307b943a61d, 0x8f82e5fde3ac2bf1, 0x70ecabe2adec134f,
        0x45875f9027bbc9e6, 0xbae9118f69fbf158, 0x5a2d3437caf34155,
        0xa5437a2884b379eb, 0x90288e5a0ee4a342, 0x6f46c04540a49bfc,
        0xfaff66bf1a4b1610, 0x059128a0540b2eae, 0x30fadcd2de5cf407,
        0xcf9492cd901cccb9, 0xc5abb1f0c0da0776, 0x3ac5ffef8e9a3fc8,
        0x0fae0b9d04cde561, 0xf0c045824a8ddddf, 0x6579e37810625033,
        0x9a17ad675e22688d, 0xaf7c5915d475b224, 0x5012170a9a358a9a,
        0xb0d632b2393d3a97, 0x4fb87cad777d0229, 0x7ad388dffd2ad880,
        0x85bdc6c0b36ae03e, 0x1004603ae9856dd2, 0xef6a2e25a7c5556c,
        0xda01da572d928fc5, 0x256f944863d2b77b, 0xce7f9c2d8c1f185b,
        0x3111d232c25f20e5, 0x047a26404808fa4c, 0xfb14685f0648c2f2,
        0x6eadcea55ca74f1e, 0x91c380ba12e777a0, 0xa4a874c898b0ad09,
        0x5bc63ad7d6f095b7, 0xbb021f6f75f825ba, 0x446c51703bb81d04,
        0x7107a502b1efc7ad, 0x8e69eb1dffafff13, 0x1bd04de7a54072ff,
        0xe4be03f8eb004a41, 0xd1d5f78a615790e8, 0x2ebbb9952f17a856,
        0x24849aa87fd16399, 0xdbead4b731915b27, 0xee8120c5bbc6818e,
        0x11ef6edaf586b930, 0x8456c820af6934dc, 0x7b38863fe1290c62,
        0x4e53724d6b7ed6cb, 0xb13d3c52253eee75, 0x51f919ea86365e78,
        0xae9757f5c87666c6, 0x9bfca3874221bc6f, 0x6492ed980c6184d1,
        0xf12b4b62568e093d, 0x0e45057d18ce3183, 0x3b2ef10f9299eb2a,
        0xc440bf10dcd9d394
    },
    {
        0x0000000000000000, 0x8211147cbaf96306, 0x30fb0eaa2d655567,
        0xb2ea1ad6979c3661, 0x61f61d545acaaace, 0xe3e70928e033c9c8,
        0x510d13fe77afffa9, 0xd31c0782cd569caf, 0xc3ec3aa8b595559c,
        0x41fd2ed40f6c369a, 0xf317340298f000fb, 0x7106207e220963fd,
        0xa21a27fcef5fff52, 0x200b338055a69c54, 0x92e12956c23aaa35,
        0x10f03d2a78c3c933, 0xb301530233bd3853, 0x3110477e89445b55,
        0x83fa5da81ed86d34, 0x01eb49d4a4210e32, 0xd2f74e566977929d,
        0x50e65a2ad38ef19b, 0xe20c40fc4412c7fa, 0x601d5480feeba4fc,
        0x70ed69aa86286dcf, 0xf2fc7dd63cd10ec9, 0x40166700ab4d38a8,
        0xc207737c11b45bae, 0x111b74fedce2c701, 0x930a6082661ba407,
        0x21e07a54f1879266, 0xa3f16e284b7ef160, 0x52db80573fede3cd,
        0xd0ca942b851480cb, 0x62208efd1288b6aa, 0xe0319a81a871d5ac,
        0x332d9d0365274903, 0xb13c897fdfde2a05, 0x03d693a948421c64,
        0x81c787d5f2bb7f62, 0x9137baff8a78b651, 0x1326ae833081d557,
        0xa1ccb455a71de336, 0x23dda0291de48030, 0xf0c1a7abd0b21c9f,
        0x72d0b3d76a4b7f99, 0xc03aa901fdd749f8, 0x422bbd7d472e2afe,
        0xe1dad3550c50db9e, 0x63cbc729b6a9b898, 0xd121ddff21358ef9,
        0x5330c9839bccedff, 0x802cce01569a7150, 0x023dda7dec631256,
        0xb0d7c0ab7bff2437, 0x32c6d4d7c1064731, 0x2236e9fdb9c58e02,
        0xa027fd81033ced04, 0x12cde75794a0db65, 0x90dcf32b2e59b863,
        0x43c0f4a9e30f24cc, 0xc1d1e0d559f647ca, 0x733bfa03ce6a71ab,
        0xf12aee7f749312ad, 0xa5b700ae7fdbc79a, 0x27a614d2c522a49c,
        0x954c0e0452be92fd, 0x175d1a78e847f1fb, 0xc4411dfa25116d54,
        0x465009869fe80e52, 0xf4ba135008743833, 0x76ab072cb28d5b35,
        0x665b3a06ca4e9206, 0xe44a2e7a70b7f100, 0x56a034ace72bc761,
        0xd4b120d05dd2a467, 0x07ad2752908438c8, 0x85bc332e2a7d5bce,
        0x375629f8bde16daf, 0xb5473d8407180ea9, 0x16b653ac4c66ffc9,
        0x94a747d0f69f9ccf, 0x264d5d066103aaae, 0xa45c497adbfac9a8,
        0x77404ef816ac5507, 0xf5515a84ac553601, 0x47bb40523bc90060,
        0xc5aa542e81306366, 0xd55a6904f9f3aa55, 0x574b7d78430ac953,
        0xe5a167aed496ff32, 0x67b073d26e6f9c34, 0xb4ac7450a339009b,
        0x36bd602c19c0639d, 0x84577afa8e5c55fc, 0x06466e8634a536fa,
        0xf76c80f940362457, 0x757d9485facf4751, 0xc7978e536d537130,
        0x45869a2fd7aa1236, 0x969a9dad1afc8e99, 0x148b89d1a005ed9f,
        0xa66193073799dbfe, 0x2470877b8d60b8f8, 0x3480ba51f5a371cb,
        0xb691ae2d4f5a12cd, 0x047bb4fbd8c624ac, 0x866aa087623f47aa,
        0x5576a705af69db05, 0xd767b3791590b803, 0x658da9af820c8e62,
        0xe79cbdd338f5ed64, 0x446dd3fb738b1c04, 0xc67cc787c9727f02,
        0x7496dd515eee4963, 0xf687c92de4172a65, 0x259bceaf2941b6ca,
        0xa78adad393b8d5cc, 0x1560c0050424e3ad, 0x9771d479bedd80ab,
        0x8781e953c61e4998, 0x0590fd2f7ce72a9e, 0xb77ae7f9eb7b1cff,
        0x356bf38551827ff9, 0xe677f4079cd4e356, 0x6466e07b262d8050,
        0xd68cfaadb1b1b631, 0x549deed10b48d537, 0x7fb7270fa7201c5f,
        0xfda633731dd97f59, 0x4f4c29a58a454938, 0xcd5d3dd930bc2a3e,
        0x1e413a5bfdeab691, 0x9c502e274713d597, 0x2eba34f1d08fe3f6,
        0xacab208d6a7680f0, 0xbc5b1da712b549c3, 0x3e4a09dba84c2ac5,
        0x8ca0130d3fd01ca4, 0x0eb1077185297fa2, 0xddad00f3487fe30d,
        0x5fbc148ff286800b, 0xed560e59651ab66a, 0x6f471a25dfe3d56c,
        0xccb6740d949d240c, 0x4ea760712e64470a, 0xfc4d7aa7b9f8716b,
        0x7e5c6edb0301126d, 0xad406959ce578ec2, 0x2f517d2574aeedc4,
        0x9dbb67f3e332dba5, 0x1faa738f59cbb8a3, 0x0f5a4ea521087190,
        0x8d4b5ad99bf11296, 0x3fa1400f0c6d24f7, 0xbdb05473b69447f1,
        0x6eac53f17bc2db5e, 0xecbd478dc13bb858, 0x5e575d5b56a78e39,
        0xdc464927ec5eed3f, 0x2d6ca75898cdff92, 0xaf7db32422349c94,
        0x1d97a9f2b5a8aaf5, 0x9f86bd8e0f51c9f3, 0x4c9aba0cc207555c,
        0xce8bae7078fe365a, 0x7c61b4a6ef62003b, 0xfe70a0da559b633d,
        0xee809df02d58aa0e, 0x6c91898c97a1c908, 0xde7b935a003dff69,
        0x5c6a8726bac49c6f, 0x8f7680a4779200c0, 0x0d6794d8cd6b63c6,
        0xbf8d8e0e5af755a7, 0x3d9c9a72e00e36a1, 0x9e6df45aab70c7c1,
        0x1c7ce0261189a4c7, 0xae96faf0861592a6, 0x2c87ee8c3cecf1a0,
        0xff9be90ef1ba6d0f, 0x7d8afd724b430e09, 0xcf60e7a4dcdf3868,
        0x4d71f3d866265b6e, 0x5d81cef21ee5925d, 0xdf90da8ea41cf15b,
        0x6d7ac0583380c73a, 0xef6bd4248979a43c, 0x3c77d3a6442f3893,
        0xbe66c7dafed65b95, 0x0c8cdd0c694a6df4, 0x8e9dc970d3b30ef2,
        0xda0027a1d8fbdbc5, 0x581133dd6202b8c3, 0xeafb290bf59e8ea2,
        0x68ea3d774f67eda4, 0xbbf63af58231710b, 0x39e72e8938c8120d,
        0x8b0d345faf54246c, 0x091c202315ad476a, 0x19ec1d096d6e8e59,
        0x9bfd0975d797ed5f, 0x291713a3400bdb3e, 0xab0607dffaf2b838,
        0x781a005d37a42497, 0xfa0b14218d5d4791, 0x48e10ef71ac171f0,
        0xcaf01a8ba03812f6, 0x690174a3eb46e396, 0xeb1060df51bf8090,
        0x59fa7a09c623b6f1, 0xdbeb6e757cdad5f7, 0x08f769f7b18c4958,
        0x8ae67d8b0b752a5e, 0x380c675d9ce91c3f, 0xba1d732126107f39,
        0xaaed4e0b5ed3b60a, 0x28fc5a77e42ad50c, 0x9a1640a173b6e36d,
        0x180754ddc94f806b, 0xcb1b535f04191cc4, 0x490a4723bee07fc2,
        0xfbe05df5297c49a3, 0x79f1498993852aa5, 0x88dba7f6e7163808,
        0x0acab38a5def5b0e, 0xb820a95cca736d6f, 0x3a31bd20708a0e69,
        0xe92dbaa2bddc92c6, 0x6b3caede0725f1c0, 0xd9d6b40890b9c7a1,
        0x5bc7a0742a40a4a7, 0x4b379d5e52836d94, 0xc9268922e87a0e92,
        0x7bcc93f47fe638f3, 0xf9dd8788c51f5bf5, 0x2ac1800a0849c75a,
        0xa8d09476b2b0a45c, 0x1a3a8ea0252c923d, 0x982b9adc9fd5f13b,
        0x3bdaf4f4d4ab005b, 0xb9cbe0886e52635d, 0x0b21fa5ef9ce553c,
        0x8930ee224337363a, 0x5a2ce9a08e61aa95, 0xd83dfddc3498c993,
        0x6ad7e70aa304fff2, 0xe8c6f37619fd9cf4, 0xf836ce5c613e55c7,
        0x7a27da20dbc736c1, 0xc8cdc0f64c5b00a0, 0x4adcd48af6a263a6,
        0x99c0d3083bf4ff09, 0x1bd1c774810d9c0f, 0xa93bdda21691aa6e,
        0x2b2ac9deac68c968
    },
    {
        0x0000000000000000, 0x373d15f784905d1e, 0x6e7a2bef0920ba3c,
        0x59473e188db0e722, 0xdcf457de12417478, 0xebc9422996d12966,
        0xb28e7c311b61ce44, 0x85b369c69ff1935a, 0x8d3189ef7c157b9b,
        0xba0c9c18f8852685, 0xe34ba2007535c1a7, 0xd476b7f7f1a59cb9,
        0x51c5de316e540fe3, 0x66f8cbc6eac452fd, 0x3fbff5de6774b5df,
        0x0882e029e3e4e8c1, 0x2eba358da0bd645d, 0x1987207a242d3943,
        0x40c01e62a99dde61, 0x77fd0b952d0d837f, 0xf24e6253b2fc1025,
        0xc57377a4366c4d3b, 0x9c3449bcbbdcaa19, 0xab095c4b3f4cf707,
        0xa38bbc62dca81fc6, 0x94b6a995583842d8, 0xcdf1978dd588a5fa,
        0xfacc827a5118f8e4, 0x7f7febbccee96bbe, 0x4842fe4b4a7936a0,
        0x1105c053c7c9d182, 0x2638d5a443598c9c, 0x5d746b1b417ac8ba,
        0x6a497eecc5ea95a4, 0x330e40f4485a7286, 0x04335503ccca2f98,
        0x81803cc5533bbcc2, 0xb6bd2932d7abe1dc, 0xeffa172a5a1b06fe,
        0xd8c702ddde8b5be0, 0xd045e2f43d6fb321, 0xe778f703b9ffee3f,
        0xbe3fc91b344f091d, 0x8902dcecb0df5403, 0x0cb1b52a2f2ec759,
        0x3b8ca0ddabbe9a47, 0x62cb9ec5260e7d65, 0x55f68b32a29e207b,
        0x73ce5e96e1c7ace7, 0x44f34b616557f1f9, 0x1db47579e8e716db,
        0x2a89608e6c774bc5, 0xaf3a0948f386d89f, 0x98071cbf77168581,
        0xc14022a7faa662a3, 0xf67d37507e363fbd, 0xfeffd7799dd2d77c,
        0xc9c2c28e19428a62, 0x9085fc9694f26d40, 0xa7b8e9611062305e,
        0x220b80a78f93a304, 0x153695500b03fe1a, 0x4c71ab4886b31938,
        0x7b4cbebf02234426, 0xbae8d63682f59174, 0x8dd5c3c10665cc6a,
        0xd492fdd98bd52b48, 0xe3afe82e0f457656, 0x661c81e890b4e50c,
        0x5121941f1424b812, 0x0866aa0799945f30, 0x3f5bbff01d04022e,
        0x37d95fd9fee0eaef, 0x00e44a2e7a70b7f1, 0x59a37436f7c050d3,
        0x6e9e61c173500dcd, 0xeb2d0807eca19e97, 0xdc101df06831c389,
        0x855723e8e58124ab, 0xb26a361f611179b5, 0x9452e3bb2248f529,
        0xa36ff64ca6d8a837, 0xfa28c8542b684f15, 0xcd15dda3aff8120b,
        0x48a6b46530098151, 0x7f9ba192b499dc4f, 0x26dc9f8a39293b6d,
        0x11e18a7dbdb96673, 0x19636a545e5d8eb2, 0x2e5e7fa3dacdd3ac,
        0x771941bb577d348e, 0x4024544cd3ed6990, 0xc5973d8a4c1cfaca,
        0xf2aa287dc88ca7d4, 0xabed1665453c40f6, 0x9cd00392c1ac1de8,
        0xe79cbd2dc38f59ce, 0xd0a1a8da471f04d0, 0x89e696c2caafe3f2,
        0xbedb83354e3fbeec, 0x3b68eaf3d1ce2db6, 0x0c55ff04555e70a8,
        0x5512c11cd8ee978a, 0x622fd4eb5c7eca94, 0x6aad34c2bf9a2255,
        0x5d9021353b0a7f4b, 0x04d71f2db6ba9869, 0x33ea0ada322ac577,
        0xb659631caddb562d, 0x816476eb294b0b33, 0xd82348f3a4fbec11,
        0xef1e5d04206bb10f, 0xc92688a063323d93, 0xfe1b9d57e7a2608d,
        0xa75ca34f6a1287af, 0x9061b6b8ee82dab1, 0x15d2df7e717349eb,
        0x22efca89f5e314f5, 0x7ba8f4917853f3d7, 0x4c95e166fcc3aec9,
        0x4417014f1f274608, 0x732a14b89bb71b16, 0x2a6d2aa01607fc34,
        0x1d503f579297a12a, 0x98e356910d663270, 0xafde436689f66f6e,
        0xf6997d7e0446884c, 0xc1a4688980d6d552, 0x41088a3e5d7cb183,
        0x76359fc9d9ecec9d, 0x2f72a1d1545c0bbf, 0x184fb426d0cc56a1,
        0x9dfcdde04f3dc5fb, 0xaac1c817cbad98e5, 0xf386f60f461d7fc7,
        0xc4bbe3f8c28d22d9, 0xcc3903d12169ca18, 0xfb041626a5f99706,
        0xa243283e28497024, 0x957e3dc9acd92d3a, 0x10cd540f3328be60,
        0x27f041f8b7b8e37e, 0x7eb77fe03a08045c, 0x498a6a17be985942,
        0x6fb2bfb3fdc1d5de, 0x588faa44795188c0, 0x01c8945cf4e16fe2,
        0x36f581ab707132fc, 0xb346e86def80a1a6, 0x847bfd9a6b10fcb8,
        0xdd3cc382e6a01b9a, 0xea01d67562304684, 0xe283365c81d4ae45,
        0xd5be23ab0544f35b, 0x8cf91db388f41479, 0xbbc408440c644967,
        0x3e7761829395da3d, 0x094a747517058723, 0x500d4a6d9ab56001,
        0x67305f9a1e253d1f, 0x1c7ce1251c067939, 0x2b41f4d298962427,
        0x7206caca1526c305, 0x453bdf3d91b69e1b, 0xc088b6fb0e470d41,
        0xf7b5a30c8ad7505f, 0xaef29d140767b77d, 0x99cf88e383f7ea63,
        0x914d68ca601302a2, 0xa6707d3de4835fbc, 0xff3743256933b89e,
        0xc80a56d2eda3e580, 0x4db93f14725276da, 0x7a842ae3f6c22bc4,
        0x23c314fb7b72cce6, 0x14fe010cffe291f8, 0x32c6d4a8bcbb1d64,
        0x05fbc15f382b407a, 0x5cbcff47b59ba758, 0x6b81eab0310bfa46,
        0xee328376aefa691c, 0xd90f96812a6a3402, 0x8048a899a7dad320,
        0xb775bd6e234a8e3e, 0xbff75d47c0ae66ff, 0x88ca48b0443e3be1,
        0xd18d76a8c98edcc3, 0xe6b0635f4d1e81dd, 0x63030a99d2ef1287,
        0x543e1f6e567f4f99, 0x0d792176dbcfa8bb, 0x3a4434815f5ff5a5,
        0xfbe05c08df8920f7, 0xccdd49ff5b197de9, 0x959a77e7d6a99acb,
        0xa2a762105239c7d5, 0x27140bd6cdc8548f, 0x10291e2149580991,
        0x496e2039c4e8eeb3, 0x7e5335ce4078b3ad, 0x76d1d5e7a39c5b6c,
        0x41ecc010270c0672, 0x18abfe08aabce150, 0x2f96ebff2e2cbc4e,
        0xaa258239b1dd2f14, 0x9d1897ce354d720a, 0xc45fa9d6b8fd9528,
        0xf362bc213c6dc836, 0xd55a69857f3444aa, 0xe2677c72fba419b4,
        0xbb20426a7614fe96, 0x8c1d579df284a388, 0x09ae3e5b6d7530d2,
        0x3e932bace9e56dcc, 0x67d415b464558aee, 0x50e90043e0c5d7f0,
        0x586be06a03213f31, 0x6f56f59d87b1622f, 0x3611cb850a01850d,
        0x012cde728e91d813, 0x849fb7b411604b49, 0xb3a2a24395f01657,
        0xeae59c5b1840f175, 0xddd889ac9cd0ac6b, 0xa69437139ef3e84d,
        0x91a922e41a63b553, 0xc8ee1cfc97d35271, 0xffd3090b13430f6f,
        0x7a6060cd8cb29c35, 0x4d5d753a0822c12b, 0x141a4b2285922609,
        0x23275ed501027b17, 0x2ba5befce2e693d6, 0x1c98ab0b6676cec8,
        0x45df9513ebc629ea, 0x72e280e46f5674f4, 0xf751e922f0a7e7ae,
        0xc06cfcd57437bab0, 0x992bc2cdf9875d92, 0xae16d73a7d17008c,
        0x882e029e3e4e8c10, 0xbf131769baded10e, 0xe6542971376e362c,
        0xd1693c86b3fe6b32, 0x54da55402c0ff868, 0x63e740b7a89fa576,
        0x3aa07eaf252f4254, 0x0d9d6b58a1bf1f4a, 0x051f8b71425bf78b,
        0x32229e86c6cbaa95, 0x6b65a09e4b7b4db7, 0x5c58b569cfeb10a9,
        0xd9ebdcaf501a83f3, 0xeed6c958d48adeed, 0xb791f740593a39cf,
        0x80ace2b7ddaa64d1
    },
    {
        0x0000000000000000, 0xe9742a79ef04a5d4, 0xe63172a0869ed8c3,
        0x0f4558d9699a7d17, 0xf8bbc31255aa22ed, 0x11cfe96bbaae8739,
        0x1e8ab1b2d334fa2e, 0xf7fe9bcb3c305ffa, 0xc5aea077f3c3d6b1,
        0x2cda8a0e1cc77365, 0x239fd2d7755d0e72, 0xcaebf8ae9a59aba6,
        0x3d156365a669f45c, 0xd461491c496d5188, 0xdb2411c520f72c9f,
        0x32503bbccff3894b, 0xbf8466bcbf103e09, 0x56f04cc550149bdd,
        0x59b5141c398ee6ca, 0xb0c13e65d68a431e, 0x473fa5aeeaba1ce4,
        0xae4b8fd705beb930, 0xa10ed70e6c24c427, 0x487afd77832061f3,
        0x7a2ac6cb4cd3e8b8, 0x935eecb2a3d74d6c, 0x9c1bb46bca4d307b,
        0x756f9e12254995af, 0x829105d91979ca55, 0x6be52fa0f67d6f81,
        0x64a077799fe71296, 0x8dd45d0070e3b742, 0x4bd1eb2a26b7ef79,
        0xa2a5c153c9b34aad, 0xade0998aa02937ba, 0x4494b3f34f2d926e,
        0xb36a2838731dcd94, 0x5a1e02419c196840, 0x555b5a98f5831557,
        0xbc2f70e11a87b083, 0x8e7f4b5dd57439c8, 0x670b61243a709c1c,
        0x684e39fd53eae10b, 0x813a1384bcee44df, 0x76c4884f80de1b25,
        0x9fb0a2366fdabef1, 0x90f5faef0640c3e6, 0x7981d096e9446632,
        0xf4558d9699a7d170, 0x1d21a7ef76a374a4, 0x1264ff361f3909b3,
        0xfb10d54ff03dac67, 0x0cee4e84cc0df39d, 0xe59a64fd23095649,
        0xeadf3c244a932b5e, 0x03ab165da5978e8a, 0x31fb2de16a6407c1,
        0xd88f07988560a215, 0xd7ca5f41ecfadf02, 0x3ebe753803fe7ad6,
        0xc940eef33fce252c, 0x2034c48ad0ca80f8, 0x2f719c53b950fdef,
        0xc605b62a5654583b, 0x97a3d6544d6fdef2, 0x7ed7fc2da26b7b26,
        0x7192a4f4cbf10631, 0x98e68e8d24f5a3e5, 0x6f18154618c5fc1f,
        0x866c3f3ff7c159cb, 0x892967e69e5b24dc, 0x605d4d9f715f8108,
        0x520d7623beac0843, 0xbb795c5a51a8ad97, 0xb43c04833832d080,
        0x5d482efad7367554, 0xaab6b531eb062aae, 0x43c29f4804028f7a,
        0x4c87c7916d98f26d, 0xa5f3ede8829c57b9, 0x2827b0e8f27fe0fb,
        0xc1539a911d7b452f, 0xce16c24874e13838, 0x2762e8319be59dec,
        0xd09c73faa7d5c216, 0x39e8598348d167c2, 0x36ad015a214b1ad5,
        0xdfd92b23ce4fbf01, 0xed89109f01bc364a, 0x04fd3ae6eeb8939e,
        0x0bb8623f8722ee89, 0xe2cc484668264b5d, 0x1532d38d541614a7,
        0xfc46f9f4bb12b173, 0xf303a12dd288cc64, 0x1a778b543d8c69b0,
        0xdc723d7e6bd8318b, 0x3506170784dc945f, 0x3a434fdeed46e948,
        0xd33765a702424c9c, 0x24c9fe6c3e721366, 0xcdbdd415d176b6b2,
        0xc2f88cccb8eccba5, 0x2b8ca6b557e86e71, 0x19dc9d09981be73a,
        0xf0a8b770771f42ee, 0xffedefa91e853ff9, 0x1699c5d0f1819a2d,
        0xe1675e1bcdb1c5d7, 0x0813746222b56003, 0x07562cbb4b2f1d14,
        0xee2206c2a42bb8c0, 0x63f65bc2d4c80f82, 0x8a8271bb3bccaa56,
        0x85c729625256d741, 0x6cb3031bbd527295, 0x9b4d98d081622d6f,
        0x7239b2a96e6688bb, 0x7d7cea7007fcf5ac, 0x9408c009e8f85078,
        0xa658fbb5270bd933, 0x4f2cd1ccc80f7ce7, 0x40698915a19501f0,
        0xa91da36c4e91a424, 0x5ee338a772a1fbde, 0xb79712de9da55e0a,
        0xb8d24a07f43f231d, 0x51a6607e1b3b86c9, 0x1b9e8afbc2482e8f,
        0xf2eaa0822d4c8b5b, 0xfdaff85b44d6f64c, 0x14dbd222abd25398,
        0xe32549e997e20c62, 0x0a51639078e6a9b6, 0x05143b49117cd4a1,
        0xec601130fe787175, 0xde302a8c318bf83e, 0x374400f5de8f5dea,
        0x3801582cb71520fd, 0xd175725558118529, 0x268be99e6421dad3,
        0xcfffc3e78b257f07, 0xc0ba9b3ee2bf0210, 0x29ceb1470dbba7c4,
        0xa41aec477d581086, 0x4d6ec63e925cb552, 0x422b9ee7fbc6c845,
        0xab5fb49e14c26d91, 0x5ca12f5528f2326b, 0xb5d5052cc7f697bf,
        0xba905df5ae6ceaa8, 0x53e4778c41684f7c, 0x61b44c308e9bc637,
        0x88c06649619f63e3, 0x87853e9008051ef4, 0x6ef114e9e701bb20,
        0x990f8f22db31e4da, 0x707ba55b3435410e, 0x7f3efd825daf3c19,
        0x964ad7fbb2ab99cd, 0x504f61d1e4ffc1f6, 0xb93b4ba80bfb6422,
        0xb67e137162611935, 0x5f0a39088d65bce1, 0xa8f4a2c3b155e31b,
        0x418088ba5e5146cf, 0x4ec5d06337cb3bd8, 0xa7b1fa1ad8cf9e0c,
        0x95e1c1a6173c1747, 0x7c95ebdff838b293, 0x73d0b30691a2cf84,
        0x9aa4997f7ea66a50, 0x6d5a02b4429635aa, 0x842e28cdad92907e,
        0x8b6b7014c408ed69, 0x621f5a6d2b0c48bd, 0xefcb076d5befffff,
        0x06bf2d14b4eb5a2b, 0x09fa75cddd71273c, 0xe08e5fb4327582e8,
        0x1770c47f0e45dd12, 0xfe04ee06e14178c6, 0xf141b6df88db05d1,
        0x18359ca667dfa005, 0x2a65a71aa82c294e, 0xc3118d6347288c9a,
        0xcc54d5ba2eb2f18d, 0x2520ffc3c1b65459, 0xd2de6408fd860ba3,
        0x3baa4e711282ae77, 0x34ef16a87b18d360, 0xdd9b3cd1941c76b4,
        0x8c3d5caf8f27f07d, 0x654976d6602355a9, 0x6a0c2e0f09b928be,
        0x83780476e6bd8d6a, 0x74869fbdda8dd290, 0x9df2b5c435897744,
        0x92b7ed1d5c130a53, 0x7bc3c764b317af87, 0x4993fcd87ce426cc,
        0xa0e7d6a193e08318, 0xafa28e78fa7afe0f, 0x46d6a401157e5bdb,
        0xb1283fca294e0421, 0x585c15b3c64aa1f5, 0x57194d6aafd0dce2,
        0xbe6d671340d47936, 0x33b93a133037ce74, 0xdacd106adf336ba0,
        0xd58848b3b6a916b7, 0x3cfc62ca59adb363, 0xcb02f901659dec99,
        0x2276d3788a99494d, 0x2d338ba1e303345a, 0xc447a1d80c07918e,
        0xf6179a64c3f418c5, 0x1f63b01d2cf0bd11, 0x1026e8c4456ac006,
        0xf952c2bdaa6e65d2, 0x0eac5976965e3a28, 0xe7d8730f795a9ffc,
        0xe89d2bd610c0e2eb, 0x01e901afffc4473f, 0xc7ecb785a9901f04,
        0x2e989dfc4694bad0, 0x21ddc5252f0ec7c7, 0xc8a9ef5cc00a6213,
        0x3f577497fc3a3de9, 0xd6235eee133e983d, 0xd96606377aa4e52a,
        0x30122c4e95a040fe, 0x024217f25a53c9b5, 0xeb363d8bb5576c61,
        0xe4736552dccd1176, 0x0d074f2b33c9b4a2, 0xfaf9d4e00ff9eb58,
        0x138dfe99e0fd4e8c, 0x1cc8a6408967339b, 0xf5bc8c396663964f,
        0x7868d1391680210d, 0x911cfb40f98484d9, 0x9e59a399901ef9ce,
        0x772d89e07f1a5c1a, 0x80d3122b432a03e0, 0x69a73852ac2ea634,
        0x66e2608bc5b4db23, 0x8f964af22ab07ef7, 0xbdc6714ee543f7bc,
        0x54b25b370a475268, 0x5bf703ee63dd2f7f, 0xb28329978cd98aab,
        0x457db25cb0e9d551, 0xac0998255fed7085, 0xa34cc0fc36770d92,
        0x4a38ea85d973a846
    },
    {
        0x0000000000000000, 0xfc5d27f6bf353971, 0xcc6369be26fde189,
        0x303e4e4899c8d8f8, 0xac1ff52f156c5079, 0x5042d2d9aa596908,
        0x607c9c913391b1f0, 0x9c21bb678ca48881, 0x6ce6cc0d724f3399,
        0x90bbebfbcd7a0ae8, 0xa085a5b354b2d210, 0x5cd88245eb87eb61,
        0xc0f93922672363e0, 0x3ca41ed4d8165a91, 0x0c9a509c41de8269,
        0xf0c7776afeebbb18, 0xd9cd981ae49e6732, 0x2590bfec5bab5e43,
        0x15aef1a4c26386bb, 0xe9f3d6527d56bfca, 0x75d26d35f1f2374b,
        0x898f4ac34ec70e3a, 0xb9b1048bd70fd6c2, 0x45ec237d683aefb3,
        0xb52b541796d154ab, 0x497673e129e46dda, 0x79483da9b02cb522,
        0x85151a5f0f198c53, 0x1934a13883bd04d2, 0xe56986ce3c883da3,
        0xd557c886a540e55b, 0x290aef701a75dc2a, 0x8742166691ab5d0f,
        0x7b1f31902e9e647e, 0x4b217fd8b756bc86, 0xb77c582e086385f7,
        0x2b5de34984c70d76, 0xd700c4bf3bf23407, 0xe73e8af7a23aecff,
        0x1b63ad011d0fd58e, 0xeba4da6be3e46e96, 0x17f9fd9d5cd157e7,
        0x27c7b3d5c5198f1f, 0xdb9a94237a2cb66e, 0x47bb2f44f6883eef,
        0xbbe608b249bd079e, 0x8bd846fad075df66, 0x7785610c6f40e617,
        0x5e8f8e7c75353a3d, 0xa2d2a98aca00034c, 0x92ece7c253c8dbb4,
        0x6eb1c034ecfde2c5, 0xf2907b5360596a44, 0x0ecd5ca5df6c5335,
        0x3ef312ed46a48bcd, 0xc2ae351bf991b2bc, 0x32694271077a09a4,
        0xce346587b84f30d5, 0xfe0a2bcf2187e82d, 0x02570c399eb2d15c,
        0x9e76b75e121659dd, 0x622b90a8ad2360ac, 0x5215dee034ebb854,
        0xae48f9168bde8125, 0x3a5d0a9e7bc12975, 0xc6002d68c4f41004,
        0xf63e63205d3cc8fc, 0x0a6344d6e209f18d, 0x9642ffb16ead790c,
        0x6a1fd847d198407d, 0x5a21960f48509885, 0xa67cb1f9f765a1f4,
        0x56bbc693098e1aec, 0xaae6e165b6bb239d, 0x9ad8af2d2f73fb65,
        0x668588db9046c214, 0xfaa433bc1ce24a95, 0x06f9144aa3d773e4,
        0x36c75a023a1fab1c, 0xca9a7df4852a926d, 0xe39092849f5f4e47,
        0x1fcdb572206a7736, 0x2ff3fb3ab9a2afce, 0xd3aedccc069796bf,
        0x4f8f67ab8a331e3e, 0xb3d2405d3506274f, 0x83ec0e15acceffb7,
        0x7fb129e313fbc6c6, 0x8f765e89ed107dde, 0x732b797f522544af,
        0x43153737cbed9c57, 0xbf4810c174d8a526, 0x2369aba6f87c2da7,
        0xdf348c50474914d6, 0xef0ac218de81cc2e, 0x1357e5ee61b4f55f,
        0xbd1f1cf8ea6a747a, 0x41423b0e555f4d0b, 0x717c7546cc9795f3,
        0x8d2152b073a2ac82, 0x1100e9d7ff062403, 0xed5dce2140331d72,
        0xdd638069d9fbc58a, 0x213ea79f66cefcfb, 0xd1f9d0f5982547e3,
        0x2da4f70327107e92, 0x1d9ab94bbed8a66a, 0xe1c79ebd01ed9f1b,
        0x7de625da8d49179a, 0x81bb022c327c2eeb, 0xb1854c64abb4f613,
        0x4dd86b921481cf62, 0x64d284e20ef41348, 0x988fa314b1c12a39,
        0xa8b1ed5c2809f2c1, 0x54eccaaa973ccbb0, 0xc8cd71cd1b984331,
        0x3490563ba4ad7a40, 0x04ae18733d65a2b8, 0xf8f33f8582509bc9,
        0x083448ef7cbb20d1, 0xf4696f19c38e19a0, 0xc45721515a46c158,
        0x380a06a7e573f829, 0xa42bbdc069d770a8, 0x58769a36d6e249d9,
        0x6848d47e4f2a9121, 0x9415f388f01fa850, 0x74ba153cf78252ea,
        0x88e732ca48b76b9b, 0xb8d97c82d17fb363, 0x44845b746e4a8a12,
        0xd8a5e013e2ee0293, 0x24f8c7e55ddb3be2, 0x14c689adc413e31a,
        0xe89bae5b7b26da6b, 0x185cd93185cd6173, 0xe401fec73af85802,
        0xd43fb08fa33080fa, 0x286297791c05b98b, 0xb4432c1e90a1310a,
        0x481e0be82f94087b, 0x782045a0b65cd083, 0x847d62560969e9f2,
        0xad778d26131c35d8, 0x512aaad0ac290ca9, 0x6114e49835e1d451,
        0x9d49c36e8ad4ed20, 0x01687809067065a1, 0xfd355fffb9455cd0,
        0xcd0b11b7208d8428, 0x315636419fb8bd59, 0xc191412b61530641,
        0x3dcc66ddde663f30, 0x0df2289547aee7c8, 0xf1af0f63f89bdeb9,
        0x6d8eb404743f5638, 0x91d393f2cb0a6f49, 0xa1edddba52c2b7b1,
        0x5db0fa4cedf78ec0, 0xf3f8035a66290fe5, 0x0fa524acd91c3694,
        0x3f9b6ae440d4ee6c, 0xc3c64d12ffe1d71d, 0x5fe7f67573455f9c,
        0xa3bad183cc7066ed, 0x93849fcb55b8be15, 0x6fd9b83dea8d8764,
        0x9f1ecf5714663c7c, 0x6343e8a1ab53050d, 0x537da6e9329bddf5,
        0xaf20811f8daee484, 0x33013a78010a6c05, 0xcf5c1d8ebe3f5574,
        0xff6253c627f78d8c, 0x033f743098c2b4fd, 0x2a359b4082b768d7,
        0xd668bcb63d8251a6, 0xe656f2fea44a895e, 0x1a0bd5081b7fb02f,
        0x862a6e6f97db38ae, 0x7a77499928ee01df, 0x4a4907d1b126d927,
        0xb61420270e13e056, 0x46d3574df0f85b4e, 0xba8e70bb4fcd623f,
        0x8ab03ef3d605bac7, 0x76ed1905693083b6, 0xeacca262e5940b37,
        0x169185945aa13246, 0x26afcbdcc369eabe, 0xdaf2ec2a7c5cd3cf,
        0x4ee71fa28c437b9f, 0xb2ba3854337642ee, 0x8284761caabe9a16,
        0x7ed951ea158ba367, 0xe2f8ea8d992f2be6, 0x1ea5cd7b261a1297,
        0x2e9b8333bfd2ca6f, 0xd2c6a4c500e7f31e, 0x2201d3affe0c4806,
        0xde5cf45941397177, 0xee62ba11d8f1a98f, 0x123f9de767c490fe,
        0x8e1e2680eb60187f, 0x724301765455210e, 0x427d4f3ecd9df9f6,
        0xbe2068c872a8c087, 0x972a87b868dd1cad, 0x6b77a04ed7e825dc,
        0x5b49ee064e20fd24, 0xa714c9f0f115c455, 0x3b3572977db14cd4,
        0xc7685561c28475a5, 0xf7561b295b4cad5d, 0x0b0b3cdfe479942c,
        0xfbcc4bb51a922f34, 0x07916c43a5a71645, 0x37af220b3c6fcebd,
        0xcbf205fd835af7cc, 0x57d3be9a0ffe7f4d, 0xab8e996cb0cb463c,
        0x9bb0d72429039ec4, 0x67edf0d29636a7b5, 0xc9a509c41de82690,
        0x35f82e32a2dd1fe1, 0x05c6607a3b15c719, 0xf99b478c8420fe68,
        0x65bafceb088476e9, 0x99e7db1db7b14f98, 0xa9d995552e799760,
        0x5584b2a3914cae11, 0xa543c5c96fa71509, 0x591ee23fd0922c78,
        0x6920ac77495af480, 0x957d8b81f66fcdf1, 0x095c30e67acb4570,
        0xf5011710c5fe7c01, 0xc53f59585c36a4f9, 0x39627eaee3039d88,
        0x106891def97641a2, 0xec35b628464378d3, 0xdc0bf860df8ba02b,
        0x2056df9660be995a, 0xbc7764f1ec1a11db, 0x402a4307532f28aa,
        0x70140d4fcae7f052, 0x8c492ab975d2c923, 0x7c8e5dd38b39723b,
        0x80d37a25340c4b4a, 0xb0ed346dadc493b2, 0x4cb0139b12f1aac3,
        0xd091a8fc9e552242, 0x2ccc8f0a21601b33, 0x1cf2c142b8a8c3cb,
        0xe0afe6b4079dfaba
    },
    {
        0x0000000000000000, 0x21e9761e252621ac, 0x43d2ec3c4a4c4358,
        0x623b9a226f6a62f4, 0x87a5d878949886b0, 0xa64cae66b1bea71c,
        0xc4773444ded4c5e8, 0xe59e425afbf2e444, 0x3b9296a271a69e0b,
        0x1a7be0bc5480bfa7, 0x78407a9e3beadd53, 0x59a90c801eccfcff,
        0xbc374edae53e18bb, 0x9dde38c4c0183917, 0xffe5a2e6af725be3,
        0xde0cd4f88a547a4f, 0x77252d44e34d3c16, 0x56cc5b5ac66b1dba,
        0x34f7c178a9017f4e, 0x151eb7668c275ee2, 0xf080f53c77d5baa6,
        0xd169832252f39b0a, 0xb35219003d99f9fe, 0x92bb6f1e18bfd852,
        0x4cb7bbe692eba21d, 0x6d5ecdf8b7cd83b1, 0x0f6557dad8a7e145,
        0x2e8c21c4fd81c0e9, 0xcb12639e067324ad, 0xeafb158023550501,
        0x88c08fa24c3f67f5, 0xa929f9bc69194659, 0xee4a5a89c69a782c,
        0xcfa32c97e3bc5980, 0xad98b6b58cd63b74, 0x8c71c0aba9f01ad8,
        0x69ef82f15202fe9c, 0x4806f4ef7724df30, 0x2a3d6ecd184ebdc4,
        0x0bd418d33d689c68, 0xd5d8cc2bb73ce627, 0xf431ba35921ac78b,
        0x960a2017fd70a57f, 0xb7e35609d85684d3, 0x527d145323a46097,
        0x7394624d0682413b, 0x11aff86f69e823cf, 0x30468e714cce0263,
        0x996f77cd25d7443a, 0xb88601d300f16596, 0xdabd9bf16f9b0762,
        0xfb54edef4abd26ce, 0x1ecaafb5b14fc28a, 0x3f23d9ab9469e326,
        0x5d184389fb0381d2, 0x7cf13597de25a07e, 0xa2fde16f5471da31,
        0x831497717157fb9d, 0xe12f0d531e3d9969, 0xc0c67b4d3b1bb8c5,
        0x25583917c0e95c81, 0x04b14f09e5cf7d2d, 0x668ad52b8aa51fd9,
        0x4763a335af833e75, 0xe84d9340d5a36333, 0xc9a4e55ef085429f,
        0xab9f7f7c9fef206b, 0x8a760962bac901c7, 0x6fe84b38413be583,
        0x4e013d26641dc42f, 0x2c3aa7040b77a6db, 0x0dd3d11a2e518777,
        0xd3df05e2a405fd38, 0xf23673fc8123dc94, 0x900de9deee49be60,
        0xb1e49fc0cb6f9fcc, 0x547add9a309d7b88, 0x7593ab8415bb5a24,
        0x17a831a67ad138d0, 0x364147b85ff7197c, 0x9f68be0436ee5f25,
        0xbe81c81a13c87e89, 0xdcba52387ca21c7d, 0xfd53242659843dd1,
        0x18cd667ca276d995, 0x392410628750f839, 0x5b1f8a40e83a9acd,
        0x7af6fc5ecd1cbb61, 0xa4fa28a64748c12e, 0x85135eb8626ee082,
        0xe728c49a0d048276, 0xc6c1b2842822a3da, 0x235ff0ded3d0479e,
        0x02b686c0f6f66632, 0x608d1ce2999c04c6, 0x41646afcbcba256a,
        0x0607c9c913391b1f, 0x27eebfd7361f3ab3, 0x45d525f559755847,
        0x643c53eb7c5379eb, 0x81a211b187a19daf, 0xa04b67afa287bc03,
        0xc270fd8dcdeddef7, 0xe3998b93e8cbff5b, 0x3d955f6b629f8514,
        0x1c7c297547b9a4b8, 0x7e47b35728d3c64c, 0x5faec5490df5e7e0,
        0xba308713f60703a4, 0x9bd9f10dd3212208, 0xf9e26b2fbc4b40fc,
        0xd80b1d31996d6150, 0x7122e48df0742709, 0x50cb9293d55206a5,
        0x32f008b1ba386451, 0x13197eaf9f1e45fd, 0xf6873cf564eca1b9,
        0xd76e4aeb41ca8015, 0xb555d0c92ea0e2e1, 0x94bca6d70b86c34d,
        0x4ab0722f81d2b902, 0x6b590431a4f498ae, 0x09629e13cb9efa5a,
        0x288be80deeb8dbf6, 0xcd15aa57154a3fb2, 0xecfcdc49306c1e1e,
        0x8ec7466b5f067cea, 0xaf2e30757a205d46, 0xe44200d2f3d1550d,
        0xc5ab76ccd6f774a1, 0xa790eceeb99d1655, 0x86799af09cbb37f9,
        0x63e7d8aa6749d3bd, 0x420eaeb4426ff211, 0x203534962d0590e5,
        0x01dc42880823b149, 0xdfd096708277cb06, 0xfe39e06ea751eaaa,
        0x9c027a4cc83b885e, 0xbdeb0c52ed1da9f2, 0x58754e0816ef4db6,
        0x799c381633c96c1a, 0x1ba7a2345ca30eee, 0x3a4ed42a79852f42,
        0x93672d96109c691b, 0xb28e5b8835ba48b7, 0xd0b5c1aa5ad02a43,
        0xf15cb7b47ff60bef, 0x14c2f5ee8404efab, 0x352b83f0a122ce07,
        0x571019d2ce48acf3, 0x76f96fcceb6e8d5f, 0xa8f5bb34613af710,
        0x891ccd2a441cd6bc, 0xeb2757082b76b448, 0xcace21160e5095e4,
        0x2f50634cf5a271a0, 0x0eb91552d084500c, 0x6c828f70bfee32f8,
        0x4d6bf96e9ac81354, 0x0a085a5b354b2d21, 0x2be12c45106d0c8d,
        0x49dab6677f076e79, 0x6833c0795a214fd5, 0x8dad8223a1d3ab91,
        0xac44f43d84f58a3d, 0xce7f6e1feb9fe8c9, 0xef961801ceb9c965,
        0x319accf944edb32a, 0x1073bae761cb9286, 0x724820c50ea1f072,
        0x53a156db2b87d1de, 0xb63f1481d075359a, 0x97d6629ff5531436,
        0xf5edf8bd9a3976c2, 0xd4048ea3bf1f576e, 0x7d2d771fd6061137,
        0x5cc40101f320309b, 0x3eff9b239c4a526f, 0x1f16ed3db96c73c3,
        0xfa88af67429e9787, 0xdb61d97967b8b62b, 0xb95a435b08d2d4df,
        0x98b335452df4f573, 0x46bfe1bda7a08f3c, 0x675697a38286ae90,
        0x056d0d81edeccc64, 0x24847b9fc8caedc8, 0xc11a39c53338098c,
        0xe0f34fdb161e2820, 0x82c8d5f979744ad4, 0xa321a3e75c526b78,
        0x0c0f93922672363e, 0x2de6e58c03541792, 0x4fdd7fae6c3e7566,
        0x6e3409b0491854ca, 0x8baa4beab2eab08e, 0xaa433df497cc9122,
        0xc878a7d6f8a6f3d6, 0xe991d1c8dd80d27a, 0x379d053057d4a835,
        0x1674732e72f28999, 0x744fe90c1d98eb6d, 0x55a69f1238becac1,
        0xb038dd48c34c2e85, 0x91d1ab56e66a0f29, 0xf3ea317489006ddd,
        0xd203476aac264c71, 0x7b2abed6c53f0a28, 0x5ac3c8c8e0192b84,
        0x38f852ea8f734970, 0x191124f4aa5568dc, 0xfc8f66ae51a78c98,
        0xdd6610b07481ad34, 0xbf5d8a921bebcfc0, 0x9eb4fc8c3ecdee6c,
        0x40b82874b4999423, 0x61515e6a91bfb58f, 0x036ac448fed5d77b,
        0x2283b256dbf3f6d7, 0xc71df00c20011293, 0xe6f486120527333f,
        0x84cf1c306a4d51cb, 0xa5266a2e4f6b7067, 0xe245c91be0e84e12,
        0xc3acbf05c5ce6fbe, 0xa1972527aaa40d4a, 0x807e53398f822ce6,
        0x65e011637470c8a2, 0x4409677d5156e90e, 0x2632fd5f3e3c8bfa,
        0x07db8b411b1aaa56, 0xd9d75fb9914ed019, 0xf83e29a7b468f1b5,
        0x9a05b385db029341, 0xbbecc59bfe24b2ed, 0x5e7287c105d656a9,
        0x7f9bf1df20f07705, 0x1da06bfd4f9a15f1, 0x3c491de36abc345d,
        0x9560e45f03a57204, 0xb4899241268353a8, 0xd6b2086349e9315c,
        0xf75b7e7d6ccf10f0, 0x12c53c27973df4b4, 0x332c4a39b21bd518,
        0x5117d01bdd71b7ec, 0x70fea605f8579640, 0xaef272fd7203ec0f,
        0x8f1b04e35725cda3, 0xed209ec1384faf57, 0xccc9e8df1d698efb,
        0x2957aa85e69b6abf, 0x08bedc9bc3bd4b13, 0x6a8546b9acd729e7,
        0x4b6c30a789f1084b
    }
};


static const EVP_MD *
s3_checksum_md(s3_checksum_alg_t alg)
{
    if (alg == S3_CKSUM_SHA1) {
        if (s3_md_sha1 == NULL) {
            s3_md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
        }
        return s3_md_sha1;
    }

    if (s3_md_md5 == NULL) {
        s3_md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    }
    return s3_md_md5;
}


s3_err_t
s3_checksum_init(s3_checksum_t *c, s3_checksum_alg_t alg)
{
    const EVP_MD  *md;

    memset(c, 0, sizeof(s3_checksum_t));

    if ((unsigned) alg >= S3_CKSUM_COUNT) {
        return S3_ERR_INTERNAL;
    }

    c->alg = alg;

    switch (alg) {

    case S3_CKSUM_SHA256:
        c->md = kms_sha256_new();
        return c->md ? S3_OK : S3_ERR_INTERNAL;

    case S3_CKSUM_SHA1:
    case S3_CKSUM_MD5:
        md = s3_checksum_md(alg);
        if (md == NULL) {
            ERR_clear_error();
            return S3_ERR_INTERNAL;
        }

        c->md = EVP_MD_CTX_new();
        if (c->md == NULL) {
            ERR_clear_error();
            return S3_ERR_INTERNAL;
        }

        if (!EVP_DigestInit_ex2(c->md, md, NULL)) {
            s3_checksum_cleanup(c);
            ERR_clear_error();
            return S3_ERR_INTERNAL;
        }

        return S3_OK;

    default:
        return S3_OK;
    }
}


s3_err_t
s3_checksum_reset(s3_checksum_t *c)
{
    c->crc32 = 0;
    c->crc64 = 0;

    switch (c->alg) {

    case S3_CKSUM_SHA256:
        return kms_sha256_reset(c->md) == 0 ? S3_OK : S3_ERR_INTERNAL;

    case S3_CKSUM_SHA1:
    case S3_CKSUM_MD5:
        if (!EVP_DigestInit_ex2(c->md, s3_checksum_md(c->alg), NULL)) {
            ERR_clear_error();
            return S3_ERR_INTERNAL;
        }
        return S3_OK;

    default:
        return S3_OK;
    }
}


s3_err_t
s3_checksum_update(s3_checksum_t *c, const void *data, size_t len)
{
    if (len == 0) {
        return S3_OK;
    }

    switch (c->alg) {

    case S3_CKSUM_CRC32:
        c->crc32 = s3_crc32(c->crc32, data, len);
        return S3_OK;

    case S3_CKSUM_CRC32C:
        c->crc32 = s3_crc32c(c->crc32, data, len);
        return S3_OK;

    case S3_CKSUM_CRC64NVME:
        c->crc64 = s3_crc64nvme(c->crc64, data, len);
        return S3_OK;

    case S3_CKSUM_SHA256:
        return kms_sha256_update(c->md, data, len) == 0
               ? S3_OK : S3_ERR_INTERNAL;

    case S3_CKSUM_SHA1:
    case S3_CKSUM_MD5:
        if (!EVP_DigestUpdate(c->md, data, len)) {
            ERR_clear_error();
            return S3_ERR_INTERNAL;
        }
        return S3_OK;

    default:
        return S3_OK;
    }
}


s3_err_t
s3_checksum_final(s3_checksum_t *c, unsigned char *out, size_t *outlen)
{
    int  i;

    *outlen = s3_checksum_len(c->alg);

    switch (c->alg) {

    case S3_CKSUM_CRC32:
    case S3_CKSUM_CRC32C:
        for (i = 0; i < 4; i++) {
            out[i] = (unsigned char) (c->crc32 >> (24 - 8 * i));
        }
        return S3_OK;

    case S3_CKSUM_CRC64NVME:
        for (i = 0; i < 8; i++) {
            out[i] = (unsigned char) (c->crc64 >> (56 - 8 * i));
        }
        return S3_OK;

    case S3_CKSUM_SHA256:
        return kms_sha256_final(c->md, out) == 0 ? S3_OK : S3_ERR_INTERNAL;

    case S3_CKSUM_SHA1:
    case S3_CKSUM_MD5:
        if (!EVP_DigestFinal_ex(c->md, out, NULL)) {
            ERR_clear_error();
            return S3_ERR_INTERNAL;
        }
        return S3_OK;

    default:
        return S3_OK;
    }
}


s3_err_t
s3_checksum_final_base64(s3_checksum_t *c, char *out, size_t *outlen)
{
    size_t         n;
    s3_err_t       rc;
    unsigned char  raw[S3_CHECKSUM_MAX_LEN];

    rc = s3_checksum_final(c, raw, &n);
    if (rc != S3_OK) {
        return rc;
    }

    n = kms_base64_encode(raw, n, out);
    out[n] = '\0';
    *outlen = n;

    return S3_OK;
}


void
s3_checksum_cleanup(s3_checksum_t *c)
{
    if (c->md != NULL) {
        if (c->alg == S3_CKSUM_SHA256) {
            kms_sha256_free(c->md);

        } else {
            EVP_MD_CTX_free(c->md);
        }
    }

    c->md = NULL;
    c->alg = S3_CKSUM_NONE;
}


s3_err_t
s3_checksum_base64(s3_checksum_alg_t alg, const void *data, size_t len,
    char *out, size_t *outlen)
{
    s3_err_t       rc;
    s3_checksum_t  c;

    rc = s3_checksum_init(&c, alg);
    if (rc != S3_OK) {
        return rc;
    }

    rc = s3_checksum_update(&c, data, len);
    if (rc == S3_OK) {
        rc = s3_checksum_final_base64(&c, out, outlen);
    }

    s3_checksum_cleanup(&c);

    return rc;
}


size_t
s3_checksum_len(s3_checksum_alg_t alg)
{
    if ((unsigned) alg >= S3_CKSUM_COUNT) {
        return 0;
    }

    return s3_checksum_info[alg].len;
}


static int
s3_casecmp(const void *a, const char *lit, size_t len)
{
    size_t                i;
    unsigned char         x, y;
    const unsigned char  *p = a;

    for (i = 0; i < len; i++) {
        x = p[i];
        y = (unsigned char) lit[i];
        if (x >= 'A' && x <= 'Z') {
            x |= 0x20;
        }
        if (y >= 'A' && y <= 'Z') {
            y |= 0x20;
        }
        if (x != y) {
            return 1;
        }
    }

    return 0;
}


s3_checksum_alg_t
s3_checksum_from_header(const void *name, size_t len)
{
    size_t  i;

    for (i = S3_CKSUM_CRC32; i <= S3_CKSUM_SHA256; i++) {
        if (len == strlen(s3_checksum_info[i].header)
            && s3_casecmp(name, s3_checksum_info[i].header, len) == 0)
        {
            return s3_checksum_info[i].alg;
        }
    }

    return S3_CKSUM_NONE;
}


s3_checksum_alg_t
s3_checksum_from_name(const void *name, size_t len)
{
    size_t  i;

    for (i = S3_CKSUM_CRC32; i <= S3_CKSUM_SHA256; i++) {
        if (len == strlen(s3_checksum_info[i].name)
            && s3_casecmp(name, s3_checksum_info[i].name, len) == 0)
        {
            return s3_checksum_info[i].alg;
        }
    }

    return S3_CKSUM_NONE;
}


const char *
s3_checksum_header(s3_checksum_alg_t alg)
{
    if ((unsigned) alg >= S3_CKSUM_COUNT) {
        return "";
    }

    return s3_checksum_info[alg].header;
}


const char *
s3_checksum_name(s3_checksum_alg_t alg)
{
    if ((unsigned) alg >= S3_CKSUM_COUNT) {
        return "";
    }

    return s3_checksum_info[alg].name;
}


/* ---- CRCs -------------------------------------------------------------- */

uint32_t
s3_crc32(uint32_t crc, const void *data, size_t len)
{
    uInt                  n;
    uLong                 c = crc;
    const unsigned char  *p = data;

    /* zlib takes uInt lengths */
    while (len) {
        n = len > 0x40000000 ? 0x40000000 : (uInt) len;
        c = crc32(c, p, n);
        p += n;
        len -= n;
    }

    return (uint32_t) c;
}


uint32_t
s3_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    uint32_t              v;
    const unsigned char  *p = data;

    crc = ~crc;

    while (len && ((uintptr_t) p & 7)) {
        crc = s3_crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }

    /* byte loads keep this right on either endianness */
    while (len >= 8) {
        v = crc ^ ((uint32_t) p[0] | (uint32_t) p[1] << 8
                   | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24);
        crc = s3_crc32c_table[7][v & 0xff]
              ^ s3_crc32c_table[6][(v >> 8) & 0xff]
              ^ s3_crc32c_table[5][(v >> 16) & 0xff]
              ^ s3_crc32c_table[4][v >> 24]
              ^ s3_crc32c_table[3][p[4]]
              ^ s3_crc32c_table[2][p[5]]
              ^ s3_crc32c_table[1][p[6]]
              ^ s3_crc32c_table[0][p[7]];
        p += 8;
        len -= 8;
    }

    while (len--) {
        crc = s3_crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }

    return ~crc;
}


#if (S3_CRC32C_SSE42)

__attribute__((target("sse4.2")))
static uint32_t
s3_crc32c_hw(uint32_t crc, const unsigned char *p, size_t len)
{
    uint64_t  c, w;

    c = ~crc;

    while (len && ((uintptr_t) p & 7)) {
        c = _mm_crc32_u8((uint32_t) c, *p++);
        len--;
    }

    while (len >= 32) {
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        memcpy(&w, p + 8, 8);
        c = _mm_crc32_u64(c, w);
        memcpy(&w, p + 16, 8);
        c = _mm_crc32_u64(c, w);
        memcpy(&w, p + 24, 8);
        c = _mm_crc32_u64(c, w);
        p += 32;
        len -= 32;
    }

    while (len >= 8) {
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        len -= 8;
    }

    while (len--) {
        c = _mm_crc32_u8((uint32_t) c, *p++);
    }

    return ~(uint32_t) c;
}

#else

static uint32_t
s3_crc32c_hw(uint32_t crc, const unsigned char *p, size_t len)
{
    return s3_crc32c_sw(crc, p, len);
}

#endif


uint32_t
s3_crc32c(uint32_t crc, const void *data, size_t len)
{
#if (S3_CRC32C_SSE42)
    if (__builtin_cpu_supports("sse4.2")) {
        return s3_crc32c_hw(crc, data, len);
    }
#endif

    return s3_crc32c_sw(crc, data, len);
}


uint64_t
s3_crc64nvme(uint64_t crc, const void *data, size_t len)
{
    uint64_t              v;
    const unsigned char  *p = data;

    crc = ~crc;

    while (len && ((uintptr_t) p & 7)) {
        crc = s3_crc64nvme_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }

    while (len >= 8) {
        v = crc ^ ((uint64_t) p[0] | (uint64_t) p[1] << 8
                   | (uint64_t) p[2] << 16 | (uint64_t) p[3] << 24
                   | (uint64_t) p[4] << 32 | (uint64_t) p[5] << 40
                   | (uint64_t) p[6] << 48 | (uint64_t) p[7] << 56);
        crc = s3_crc64nvme_table[7][v & 0xff]
              ^ s3_crc64nvme_table[6][(v >> 8) & 0xff]
              ^ s3_crc64nvme_table[5][(v >> 16) & 0xff]
              ^ s3_crc64nvme_table[4][(v >> 24) & 0xff]
              ^ s3_crc64nvme_table[3][(v >> 32) & 0xff]
              ^ s3_crc64nvme_table[2][(v >> 40) & 0xff]
              ^ s3_crc64nvme_table[1][(v >> 48) & 0xff]
              ^ s3_crc64nvme_table[0][v >> 56];
        p += 8;
        len -= 8;
    }

    while (len--) {
        crc = s3_crc64nvme_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }

    return ~crc;
}
