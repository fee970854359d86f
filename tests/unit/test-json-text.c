/* common/json-text.c: escaped strings, and the one text of a double the
 * daemon and wsbridge-notify write. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "json-text.h"

#define assert_double(d, expected)                                                                 \
  G_STMT_START                                                                                     \
  {                                                                                                \
    char buf_[WSB_JSON_DOUBLE_BUF_SIZE];                                                           \
    g_assert_cmpstr (wsb_json_format_double (d, buf_), ==, expected);                              \
  }                                                                                                \
  G_STMT_END

static void
test_double_plain (void)
{
  assert_double (100.0, "100");
  assert_double (1e2, "100");
  assert_double (42.0, "42");
  assert_double (-7.0, "-7");
  assert_double (1.5, "1.5");
  assert_double (-2.25, "-2.25");
  assert_double (0.1, "0.1");
  assert_double (0.1 + 0.2, "0.30000000000000004");
  assert_double (41234.5, "41234.5");
  assert_double (123456789012345.6, "123456789012345.6");
  assert_double (0.0001, "0.0001");
  assert_double (1e-6, "0.000001");
  assert_double (1.5e-6, "0.0000015");
  assert_double (-0.000001234, "-0.000001234");
}

static void
test_double_zero (void)
{
  assert_double (0.0, "0");
  assert_double (-0.0, "0");
}

static void
test_double_large_integers (void)
{
  assert_double (9007199254740992.0, "9007199254740992");         /* 2^53 */
  assert_double (9007199254740993.0, "9007199254740992");         /* rounds to 2^53 */
  assert_double (-9007199254740991.0, "-9007199254740991");       /* -(2^53 - 1) */
  assert_double (18446744073709551616.0, "18446744073709552000"); /* 2^64 */
  assert_double (12345678901234567.0, "12345678901234568");
  assert_double (1e15, "1000000000000000");
  assert_double (1e16, "10000000000000000");
  assert_double (1e20, "100000000000000000000");
  assert_double (123456789012345680000.0, "123456789012345680000");
}

static void
test_double_exponent (void)
{
  assert_double (1e21, "1e+21");
  assert_double (-1e21, "-1e+21");
  assert_double (1.5e21, "1.5e+21");
  assert_double (1e300, "1e+300");
  assert_double (1e-7, "1e-7");
  assert_double (2.5e-7, "2.5e-7");
  assert_double (-1.25e-10, "-1.25e-10");
  assert_double (DBL_MAX, "1.7976931348623157e+308");
  assert_double (-DBL_MAX, "-1.7976931348623157e+308");
  assert_double (DBL_MIN, "2.2250738585072014e-308");
  assert_double (5e-324, "5e-324"); /* the smallest subnormal */
  assert_double (-5e-324, "-5e-324");
}

static void
test_double_not_json (void)
{
  assert_double (NAN, "NaN");
  assert_double (INFINITY, "Infinity");
  assert_double (-INFINITY, "-Infinity");
}

/* Every text reads back as the double it came from, in at most 17
 * significant digits, and fits the buffer. */
static void
test_double_round_trip (void)
{
  GRand *rand = g_rand_new_with_seed (26);

  for (guint i = 0; i < 20000; i++)
    {
      char buf[WSB_JSON_DOUBLE_BUF_SIZE];
      guint64 bits = (guint64) g_rand_int (rand) << 32 | g_rand_int (rand);
      double d;
      char *end;

      memcpy (&d, &bits, sizeof d);
      if (!isfinite (d))
        continue;
      wsb_json_format_double (d, buf);
      g_assert_cmpuint (strlen (buf), <, WSB_JSON_DOUBLE_BUF_SIZE);
      g_assert_cmpfloat (g_ascii_strtod (buf, &end), ==, d);
      g_assert_cmpint (*end, ==, '\0');
    }
  g_rand_free (rand);
}

#define assert_escape(s, expected)                                                                 \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *got_ = wsb_json_escape (s);                                                   \
    g_assert_cmpstr (got_, ==, expected);                                                          \
  }                                                                                                \
  G_STMT_END

static void
test_escape (void)
{
  assert_escape ("", "");
  assert_escape ("btc-usd", "btc-usd");
  assert_escape ("a\"b", "a\\\"b");
  assert_escape ("a\\b", "a\\\\b");
  assert_escape ("a\nb\tc\rd\be\ff", "a\\nb\\tc\\rd\\be\\ff");
  assert_escape ("\x01\x1f", "\\u0001\\u001F");
  /* '/', DEL and non-ASCII stay as they are (JSON allows them). */
  assert_escape ("a/b\x7f", "a/b\x7f");
  assert_escape ("caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80");
  g_assert_null (wsb_json_escape ("\xff"));
  g_assert_null (wsb_json_escape ("\xc0\xaf"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json-text/double/plain", test_double_plain);
  g_test_add_func ("/json-text/double/zero", test_double_zero);
  g_test_add_func ("/json-text/double/large-integers", test_double_large_integers);
  g_test_add_func ("/json-text/double/exponent", test_double_exponent);
  g_test_add_func ("/json-text/double/not-json", test_double_not_json);
  g_test_add_func ("/json-text/double/round-trip", test_double_round_trip);
  g_test_add_func ("/json-text/escape", test_escape);
  return g_test_run ();
}
