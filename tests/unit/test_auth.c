/* The passwd-file user database: schemes, parsing, APOP, CRAM-MD5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "md5.h"

/* Hashes of "sesame" made with the fixed salt "saltsalt". */
#define HASH6 "$6$saltsalt$g3uPFdehVnKoLXdidvSAg1zlVgYomPr0X/xgdXSBn2LuxZUOG" \
              "gYW4IULZkguZ77fzYteIur49AGHmF9iek6Sf1"
#define HASH5 "$5$saltsalt$Arv3XkXcPR5LHLrzVCBdKV5hwRocYIyFvUvGa9tbc06"
#define HASH1 "$1$saltsalt$J3RStOYaRn/5Iz9DGbAnx1"

/* RFC 1939 §7 and RFC 2195 §2. */
#define APOP_TS  "<1896.697170952@dbc.mtview.ca.us>"
#define APOP_MD5 "c4c9334bac560ecc979e58001b3e22fb"
#define CRAM_CH  "<1896.697170952@postoffice.reston.mci.net>"
#define CRAM_MD5 "b913a602c7eda7a495b4e6e7334d3890"

static const char passwd_text[] =
	"# postoffice test users\n"
	"\n"
	"alice:{PLAIN}wonderland\n"
	"clear:{CLEARTEXT}opensesame\n"
	"lower:{plain}casefolded\n"
	"sha512:{CRYPT}" HASH6 "\n"
	"alias512:{SHA512-CRYPT}" HASH6 "\n"
	"bare:" HASH6 "\n"
	"sha256:{SHA256-CRYPT}" HASH5 "\n"
	"md5c:{MD5-CRYPT}" HASH1 "\n"
	"extra:{PLAIN}fields:1000:1000::/home/extra::userdb_quota=1G\n"
	"   \n"
	"#hidden:{PLAIN}commented\n"
	"mystery:{SCRYPT}sesame\n"
	"empty:{PLAIN}\n"
	"nosecret\n"
	"crlf:{PLAIN}dos\r\n"
	"mrose:{PLAIN}tanstaaf\n"
	"tim:{PLAIN}tanstaaftanstaaf\n"
	"dup:{PLAIN}first\n"
	"dup:{PLAIN}second\n"
	"last:{PLAIN}no-newline";

struct fixture {
	char dir[64];
	char path[96];
};

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);

	if (fx == NULL)
		return -1;
	strcpy(fx->dir, "/tmp/test_auth.XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof fx->path, "%s/passwd", fx->dir);
	write_file(fx->path, passwd_text, strlen(passwd_text));
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

#define PATH(state) (((struct fixture *)*(state))->path)

static void
test_plain(void **state)
{
	assert_int_equal(auth_check_password(PATH(state), "alice", "wonderland"),
	                 AUTH_OK);
	assert_int_equal(auth_check_password(PATH(state), "alice", "wonderlan"),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "alice", "wonderlandx"),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "alice", ""),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "alice", "Wonderland"),
	                 AUTH_FAIL);
}

static void
test_plain_aliases(void **state)
{
	assert_int_equal(auth_check_password(PATH(state), "clear", "opensesame"),
	                 AUTH_OK);
	assert_int_equal(auth_check_password(PATH(state), "clear", "closed"),
	                 AUTH_FAIL);
	/* Scheme names are case-insensitive. */
	assert_int_equal(auth_check_password(PATH(state), "lower", "casefolded"),
	                 AUTH_OK);
}

static void
test_crypt_schemes(void **state)
{
	static const char *const users[] = {
		"sha512", "alias512", "bare", "sha256", "md5c",
	};
	size_t i;

	for (i = 0; i < sizeof users / sizeof users[0]; i++) {
		assert_int_equal(auth_check_password(PATH(state), users[i],
		                                     "sesame"),
		                 AUTH_OK);
		assert_int_equal(auth_check_password(PATH(state), users[i],
		                                     "Sesame"),
		                 AUTH_FAIL);
		assert_int_equal(auth_check_password(PATH(state), users[i], ""),
		                 AUTH_FAIL);
	}
	/* The stored hash is not a password. */
	assert_int_equal(auth_check_password(PATH(state), "sha512", HASH6),
	                 AUTH_FAIL);
}

static void
test_unknown_user(void **state)
{
	assert_int_equal(auth_check_password(PATH(state), "nobody", "sesame"),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "nobody", ""),
	                 AUTH_FAIL);
	assert_int_equal(auth_user_exists(PATH(state), "nobody"), AUTH_FAIL);
}

static void
test_unusable_entries(void **state)
{
	/* Unknown scheme, empty secret, no secret field: never a login. */
	assert_int_equal(auth_check_password(PATH(state), "mystery", "sesame"),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "mystery",
	                                     "{SCRYPT}sesame"),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "empty", ""),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "nosecret", ""),
	                 AUTH_FAIL);
	/* ...but the users exist, for delivery. */
	assert_int_equal(auth_user_exists(PATH(state), "empty"), AUTH_OK);
	assert_int_equal(auth_user_exists(PATH(state), "nosecret"), AUTH_OK);
}

static void
test_extra_fields(void **state)
{
	assert_int_equal(auth_check_password(PATH(state), "extra", "fields"),
	                 AUTH_OK);
	assert_int_equal(auth_check_password(PATH(state), "extra",
	                                     "fields:1000"),
	                 AUTH_FAIL);
}

static void
test_comments_and_line_ends(void **state)
{
	assert_int_equal(auth_user_exists(PATH(state), "#hidden"), AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "#hidden",
	                                     "commented"),
	                 AUTH_FAIL);
	/* CRLF line ends and a last line without one. */
	assert_int_equal(auth_check_password(PATH(state), "crlf", "dos"),
	                 AUTH_OK);
	assert_int_equal(auth_check_password(PATH(state), "last",
	                                     "no-newline"),
	                 AUTH_OK);
}

/* The first line for a user counts, as in Dovecot. */
static void
test_duplicate_user(void **state)
{
	assert_int_equal(auth_check_password(PATH(state), "dup", "first"),
	                 AUTH_OK);
	assert_int_equal(auth_check_password(PATH(state), "dup", "second"),
	                 AUTH_FAIL);
}

static void
test_name_matching(void **state)
{
	assert_int_equal(auth_user_exists(PATH(state), "alice"), AUTH_OK);
	assert_int_equal(auth_user_exists(PATH(state), "ali"), AUTH_FAIL);
	assert_int_equal(auth_user_exists(PATH(state), "alicex"), AUTH_FAIL);
	assert_int_equal(auth_user_exists(PATH(state), "Alice"), AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "ali", "wonderland"),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "Alice",
	                                     "wonderland"),
	                 AUTH_FAIL);
}

static void
test_invalid_names(void **state)
{
	char longname[USER_MAX + 2];

	assert_int_equal(auth_check_password(PATH(state), "", "wonderland"),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "alice:{PLAIN}x",
	                                     "x"),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "alice\n", "wonderland"),
	                 AUTH_FAIL);
	assert_int_equal(auth_user_exists(PATH(state), "ali\tce"), AUTH_FAIL);
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(auth_user_exists(PATH(state), longname), AUTH_FAIL);
}

/* A name of exactly USER_MAX octets is still looked up. */
static void
test_longest_name(void **state)
{
	char name[USER_MAX + 1], text[USER_MAX + 32];
	int n;

	memset(name, 'u', USER_MAX);
	name[USER_MAX] = '\0';
	n = snprintf(text, sizeof text, "%s:{PLAIN}pw\n", name);
	write_file(PATH(state), text, (size_t)n);
	assert_int_equal(auth_check_password(PATH(state), name, "pw"), AUTH_OK);
}

static void
test_missing_file(void **state)
{
	char path[128];

	snprintf(path, sizeof path, "%s/absent",
	         ((struct fixture *)*state)->dir);
	assert_int_equal(auth_check_password(path, "alice", "wonderland"),
	                 AUTH_TEMPFAIL);
	assert_int_equal(auth_check_apop(path, "mrose", APOP_TS, APOP_MD5),
	                 AUTH_TEMPFAIL);
	assert_int_equal(auth_check_cram_md5(path, "tim", CRAM_CH, CRAM_MD5),
	                 AUTH_TEMPFAIL);
	assert_int_equal(auth_user_exists(path, "alice"), AUTH_TEMPFAIL);
	/* Also when the user name is one we would not look for. */
	assert_int_equal(auth_user_exists(path, ""), AUTH_TEMPFAIL);
}

/* A directory opens but cannot be read. */
static void
test_unreadable_file(void **state)
{
	const char *dir = ((struct fixture *)*state)->dir;

	assert_int_equal(auth_check_password(dir, "alice", "wonderland"),
	                 AUTH_TEMPFAIL);
	assert_int_equal(auth_user_exists(dir, "alice"), AUTH_TEMPFAIL);
}

/* A line over the limit is skipped whole; the lines around it count. */
static void
test_long_line(void **state)
{
	size_t len = 10000, n;
	char *text = malloc(len + 64);

	assert_non_null(text);
	n = (size_t)sprintf(text, "alice:{PLAIN}wonderland\nhuge:{PLAIN}");
	memset(text + n, 'x', len);
	n += len;
	n += (size_t)sprintf(text + n, "\nbob:{PLAIN}builder\n");
	write_file(PATH(state), text, n);
	free(text);

	assert_int_equal(auth_user_exists(PATH(state), "huge"), AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "alice", "wonderland"),
	                 AUTH_OK);
	assert_int_equal(auth_check_password(PATH(state), "bob", "builder"),
	                 AUTH_OK);
}

/* A NUL inside a line would cut the secret short: the line is skipped. */
static void
test_nul_in_line(void **state)
{
	static const char text[] = "alice:{PLAIN}won\0derland\nbob:{PLAIN}b\n";

	write_file(PATH(state), text, sizeof text - 1);
	assert_int_equal(auth_check_password(PATH(state), "alice", "won"),
	                 AUTH_FAIL);
	assert_int_equal(auth_user_exists(PATH(state), "alice"), AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "bob", "b"), AUTH_OK);
}

static void
test_apop(void **state)
{
	assert_int_equal(auth_check_apop(PATH(state), "mrose", APOP_TS,
	                                 APOP_MD5),
	                 AUTH_OK);
	assert_int_equal(auth_check_apop(PATH(state), "mrose", APOP_TS,
	                                 "C4C9334BAC560ECC979E58001B3E22FB"),
	                 AUTH_OK);
	assert_int_equal(auth_check_apop(PATH(state), "mrose", APOP_TS,
	                                 "c4c9334bac560ecc979e58001b3e22fc"),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_apop(PATH(state), "mrose", APOP_TS,
	                                 "c4c9334bac560ecc979e58001b3e22f"),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_apop(PATH(state), "mrose", APOP_TS,
	                                 APOP_MD5 "00"),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_apop(PATH(state), "mrose", APOP_TS, ""),
	                 AUTH_FAIL);
	/* Another timestamp, another digest. */
	assert_int_equal(auth_check_apop(PATH(state), "mrose",
	                                 "<1897.697170952@dbc.mtview.ca.us>",
	                                 APOP_MD5),
	                 AUTH_FAIL);
}

/* RFC 6856 §2.2: the digest is over the mapped secret ("tanstaaf" upper-
 * cased here); a secret the map refuses is used as stored. */
static bool
map_upper(const char *in, char *out, size_t outsz)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < outsz; i++)
		out[i] = in[i] >= 'a' && in[i] <= 'z' ? (char)(in[i] - 32) : in[i];
	out[i] = '\0';
	return true;
}

static bool
map_refuse(const char *in, char *out, size_t outsz)
{
	(void)in;
	(void)out;
	(void)outsz;
	return false;
}

static void
test_apop_mapped(void **state)
{
	char hex[33];

	md5_hex(APOP_TS "TANSTAAF", strlen(APOP_TS "TANSTAAF"), hex);
	assert_int_equal(auth_check_apop_mapped(PATH(state), "mrose", APOP_TS,
	                                        hex, map_upper),
	                 AUTH_OK);
	assert_int_equal(auth_check_apop_mapped(PATH(state), "mrose", APOP_TS,
	                                        APOP_MD5, map_upper),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_apop_mapped(PATH(state), "mrose", APOP_TS,
	                                        APOP_MD5, map_refuse),
	                 AUTH_OK);
	/* Users without a {PLAIN} secret are not helped by a map. */
	md5_hex(APOP_TS, strlen(APOP_TS), hex);
	assert_int_equal(auth_check_apop_mapped(PATH(state), "empty", APOP_TS,
	                                        hex, map_upper),
	                 AUTH_FAIL);
}

/* Only a {PLAIN} secret can be used; knowing the stored hash of a CRYPT
 * user, or guessing the empty secret, gets nobody in. */
static void
test_apop_needs_plain(void **state)
{
	char hex[33];

	md5_hex(APOP_TS HASH6, strlen(APOP_TS HASH6), hex);
	assert_int_equal(auth_check_apop(PATH(state), "sha512", APOP_TS, hex),
	                 AUTH_FAIL);
	md5_hex(APOP_TS, strlen(APOP_TS), hex);
	assert_int_equal(auth_check_apop(PATH(state), "empty", APOP_TS, hex),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_apop(PATH(state), "nosecret", APOP_TS, hex),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_apop(PATH(state), "nobody", APOP_TS,
	                                 APOP_MD5),
	                 AUTH_FAIL);
	/* The stand-in secret used for such users must not work either. */
	md5_hex(APOP_TS "postoffice-no-shared-secret",
	        strlen(APOP_TS "postoffice-no-shared-secret"), hex);
	assert_int_equal(auth_check_apop(PATH(state), "nobody", APOP_TS, hex),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_apop(PATH(state), "sha512", APOP_TS, hex),
	                 AUTH_FAIL);
}

static void
hmac_hex(const char *key, const char *text, char hex[33])
{
	unsigned char d[16];
	int i;

	md5_hmac(key, strlen(key), text, strlen(text), d);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static void
test_cram_md5(void **state)
{
	char hex[33];

	assert_int_equal(auth_check_cram_md5(PATH(state), "tim", CRAM_CH,
	                                     CRAM_MD5),
	                 AUTH_OK);
	assert_int_equal(auth_check_cram_md5(PATH(state), "tim", CRAM_CH,
	                                     "B913A602C7EDA7A495B4E6E7334D3890"),
	                 AUTH_OK);
	assert_int_equal(auth_check_cram_md5(PATH(state), "tim", CRAM_CH,
	                                     "b913a602c7eda7a495b4e6e7334d3891"),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_cram_md5(PATH(state), "tim", APOP_TS,
	                                     CRAM_MD5),
	                 AUTH_FAIL);
	hmac_hex(HASH6, CRAM_CH, hex);
	assert_int_equal(auth_check_cram_md5(PATH(state), "sha512", CRAM_CH,
	                                     hex),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_cram_md5(PATH(state), "nobody", CRAM_CH,
	                                     CRAM_MD5),
	                 AUTH_FAIL);
}

static void
test_user_exists(void **state)
{
	assert_int_equal(auth_user_exists(PATH(state), "alice"), AUTH_OK);
	assert_int_equal(auth_user_exists(PATH(state), "sha512"), AUTH_OK);
	assert_int_equal(auth_user_exists(PATH(state), "mystery"), AUTH_OK);
	assert_int_equal(auth_user_exists(PATH(state), "last"), AUTH_OK);
	assert_int_equal(auth_user_exists(PATH(state), "nobody"), AUTH_FAIL);
}

/* Edits take effect at once: the file is read for every check. */
static void
test_reread(void **state)
{
	static const char text[] = "alice:{PLAIN}looking-glass\n";

	assert_int_equal(auth_check_password(PATH(state), "alice", "wonderland"),
	                 AUTH_OK);
	write_file(PATH(state), text, sizeof text - 1);
	assert_int_equal(auth_check_password(PATH(state), "alice", "wonderland"),
	                 AUTH_FAIL);
	assert_int_equal(auth_check_password(PATH(state), "alice",
	                                     "looking-glass"),
	                 AUTH_OK);
}

static void
test_equal(void **state)
{
	(void)state;
	assert_true(auth_equal("", ""));
	assert_true(auth_equal("abc", "abc"));
	assert_false(auth_equal("", "a"));
	assert_false(auth_equal("a", ""));
	assert_false(auth_equal("abc", "abcd"));
	assert_false(auth_equal("abcd", "abc"));
	assert_false(auth_equal("abc", "abd"));
	assert_false(auth_equal("abc", "xbc"));
	assert_false(auth_equal("abc", "ABC"));
}

static void
test_wipe(void **state)
{
	char buf[16] = "secret";
	size_t i;

	(void)state;
	auth_wipe(buf, sizeof buf);
	for (i = 0; i < sizeof buf; i++)
		assert_int_equal(buf[i], 0);
	auth_wipe(buf, 0);
}

#define FX(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_plain),
		FX(test_plain_aliases),
		FX(test_crypt_schemes),
		FX(test_unknown_user),
		FX(test_unusable_entries),
		FX(test_extra_fields),
		FX(test_comments_and_line_ends),
		FX(test_duplicate_user),
		FX(test_name_matching),
		FX(test_invalid_names),
		FX(test_longest_name),
		FX(test_missing_file),
		FX(test_unreadable_file),
		FX(test_long_line),
		FX(test_nul_in_line),
		FX(test_apop),
		FX(test_apop_mapped),
		FX(test_apop_needs_plain),
		FX(test_cram_md5),
		FX(test_user_exists),
		FX(test_reread),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_wipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
