/* Unit tests of daemon/config/config-value.c (one value: parsed, checked, stored
 * in its field) and of the key table's lookups in daemon/config/config.c, below
 * the file parsing that test-config.c covers. */
#include "config-private.h"

#include <stddef.h>
#include <string.h>

/* Stand-in for WsbSessionConfig: one field of each storage. */
typedef struct
{
  gboolean flag;
  guint64 number;
  char *text;
  char **list;
} Fields;

#define KEY(type, min, max, field)                                                                 \
  {                                                                                                \
    "k", type, NULL, min, max, offsetof (Fields, field), "doc"                                     \
  }

static void
fields_clear (Fields *f)
{
  g_clear_pointer (&f->text, g_free);
  g_clear_pointer (&f->list, g_strfreev);
}

/* Sets raw as a value of a key of type into f (raw text, no key file). */
static gboolean
set (const KeyDef *k, Fields *f, const char *raw, GString *why)
{
  g_string_truncate (why, 0);
  return wsb_config_value_set (k, f, NULL, NULL, raw, why);
}

/* raw is refused with a reason holding every needle and none of the secret. */
static void
assert_refused (const KeyDef *k, const char *raw, const char *const *needles, const char *secret)
{
  g_autoptr (GString) why = g_string_new (NULL);
  Fields f = { 0 };

  if (set (k, &f, raw, why))
    g_error ("'%s' was accepted", raw);
  for (guint i = 0; needles[i]; i++)
    if (!strstr (why->str, needles[i]))
      g_error ("'%s' not in the reason for '%s': %s", needles[i], raw, why->str);
  if (secret)
    g_assert_null (strstr (why->str, secret));
  g_assert_null (f.text);
  g_assert_null (f.list);
  fields_clear (&f);
}

#define NEEDLES(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void
test_booleans (void)
{
  static const char *const yes[] = { "true", "yes", "on", "1", "TRUE", "Yes", "oN" };
  static const char *const no[] = { "false", "no", "off", "0", "False", "NO" };
  const KeyDef k = KEY (KEY_BOOL, 0, 1, flag);
  g_autoptr (GString) why = g_string_new (NULL);
  Fields f = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (yes); i++)
    {
      f.flag = FALSE;
      g_assert_true (set (&k, &f, yes[i], why));
      g_assert_true (f.flag);
    }
  for (guint i = 0; i < G_N_ELEMENTS (no); i++)
    {
      f.flag = TRUE;
      g_assert_true (set (&k, &f, no[i], why));
      g_assert_false (f.flag);
    }
  assert_refused (&k, "maybe", NEEDLES ("expected a boolean", "'maybe'"), NULL);
  assert_refused (&k, "2", NEEDLES ("expected a boolean"), NULL);
  assert_refused (&k, "", NEEDLES ("expected a boolean"), NULL);
  assert_refused (&k, "yes please", NEEDLES ("expected a boolean"), NULL);
}

static void
test_numbers_and_sizes (void)
{
  const struct
  {
    const char *raw;
    guint64 value;
  } sizes[] = {
    { "0", 0 },
    { "65536", 65536 },
    { "64K", 64 * KIB },
    { "64 k", 64 * KIB },
    { "64KiB", 64 * KIB },
    { "16M", 16 * MIB },
    { "16mib", 16 * MIB },
    { "1G", GIB },
    { "1 GiB", GIB },
    { "17179869183G", G_GUINT64_CONSTANT (17179869183) * GIB },
  };
  const KeyDef size = KEY (KEY_SIZE, 0, G_MAXUINT64, number);
  const KeyDef uint = KEY (KEY_UINT, 0, G_MAXUINT64, number);
  g_autoptr (GString) why = g_string_new (NULL);
  Fields f = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_assert_true (set (&size, &f, sizes[i].raw, why));
      g_assert_cmpuint (f.number, ==, sizes[i].value);
    }
  g_assert_true (set (&uint, &f, "18446744073709551615", why));
  g_assert_cmpuint (f.number, ==, G_MAXUINT64);

  /* Suffixes only for sizes, each reason saying what was expected. */
  assert_refused (&uint, "5K", NEEDLES ("expected a whole number", "'5K'"), NULL);
  assert_refused (&size, "5KB", NEEDLES ("expected a size (e.g. 65536, 64K, 16MiB)"), NULL);
  assert_refused (&size, "12Q", NEEDLES ("expected a size"), NULL);
  assert_refused (&uint, "-1", NEEDLES ("expected a whole number"), NULL);
  assert_refused (&uint, " 1", NEEDLES ("expected a whole number"), NULL);
  assert_refused (&uint, "", NEEDLES ("expected a whole number"), NULL);
  assert_refused (&uint, "0x10", NEEDLES ("expected a whole number"), NULL);
  /* Over 64 bits, by digits or by the suffix. */
  assert_refused (&uint, "18446744073709551616", NEEDLES ("expected a whole number"), NULL);
  assert_refused (&size, "17179869184G", NEEDLES ("expected a size"), NULL);
}

static void
test_ranges (void)
{
  const KeyDef k = KEY (KEY_UINT, 5, 10, number);
  const KeyDef size = KEY (KEY_SIZE, KIB, 4 * KIB, number);
  g_autoptr (GString) why = g_string_new (NULL);
  Fields f = { 0 };

  g_assert_true (set (&k, &f, "5", why));
  g_assert_cmpuint (f.number, ==, 5);
  g_assert_true (set (&k, &f, "10", why));
  g_assert_cmpuint (f.number, ==, 10);
  assert_refused (&k, "4", NEEDLES ("4 is out of range (5..10)"), NULL);
  assert_refused (&k, "11", NEEDLES ("11 is out of range (5..10)"), NULL);
  /* A size's range is checked after its suffix. */
  g_assert_true (set (&size, &f, "4K", why));
  g_assert_cmpuint (f.number, ==, 4 * KIB);
  assert_refused (&size, "5K", NEEDLES ("5120 is out of range (1024..4096)"), NULL);

  /* A refused value leaves the field as it was. */
  f.number = 7;
  g_assert_false (set (&k, &f, "11", why));
  g_assert_false (set (&k, &f, "x", why));
  g_assert_cmpuint (f.number, ==, 7);
}

static void
test_text_and_key_file_escapes (void)
{
  const KeyDef k = KEY (KEY_STRING, 0, 0, text);
  g_autoptr (GString) why = g_string_new (NULL);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  Fields f = { 0 };

  g_assert_true (set (&k, &f, "as written\\s", why));
  g_assert_cmpstr (f.text, ==, "as written\\s");
  /* From a key file, its escapes apply to the value; a bad one is refused. */
  g_assert_true (g_key_file_load_from_data (kf, "[g]\nk=a\\sb\nbad=x\\q\n", -1, 0, NULL));
  g_assert_true (wsb_config_value_set (&k, &f, kf, "g", "a\\sb", why));
  g_assert_cmpstr (f.text, ==, "a b");
  {
    const KeyDef bad = { "bad", KEY_STRING, NULL, 0, 0, offsetof (Fields, text), "doc" };

    g_string_truncate (why, 0);
    g_assert_false (wsb_config_value_set (&bad, &f, kf, "g", "x\\q", why));
    g_assert_cmpuint (why->len, >, 0);
    g_assert_cmpstr (f.text, ==, "a b");
  }
  wsb_config_value_free (&k, &f);
  g_assert_null (f.text);
  /* Freeing twice, or a number, is harmless. */
  wsb_config_value_free (&k, &f);
  {
    const KeyDef number = KEY (KEY_UINT, 0, 9, number);

    f.number = 3;
    wsb_config_value_free (&number, &f);
    g_assert_cmpuint (f.number, ==, 3);
  }
}

static void
test_urls (void)
{
  const KeyDef k = KEY (KEY_URL, 0, 0, text);
  g_autoptr (GString) why = g_string_new (NULL);
  g_autofree char *long_path = g_strnfill (WSB_URL_PATH_MAX, 'p');
  g_autofree char *too_long = g_strdup_printf ("ws://h/%s", long_path);
  g_autofree char *at_limit = g_strdup_printf ("ws://h/%.*s", WSB_URL_PATH_MAX - 1, long_path);
  Fields f = { 0 };

  g_assert_true (set (&k, &f, "wss://example.com:8443/a?b=c", why));
  g_assert_cmpstr (f.text, ==, "wss://example.com:8443/a?b=c");
  g_assert_true (set (&k, &f, "WS://example.com", why));
  g_assert_true (set (&k, &f, at_limit, why));
  assert_refused (&k, "http://example.com/", NEEDLES ("must be ws:// or wss://, not http://"),
                  NULL);
  assert_refused (&k, "ws:///path", NEEDLES ("the URL has no host"), NULL);
  assert_refused (&k, "ws://user:TOPSECRET@h/", NEEDLES ("credentials in the URL"), "TOPSECRET");
  assert_refused (&k, "ws://h/#top", NEEDLES ("#fragment"), NULL);
  assert_refused (&k, "not a url", NEEDLES ("not a valid URL"), NULL);
  assert_refused (&k, too_long, NEEDLES ("path of 8193 bytes is longer than the 8192"), NULL);
  /* Percent-encoding is kept as written; what cannot go on the wire is refused. */
  g_assert_true (set (&k, &f, "ws://h/a%0d%0aX:%20y?t=a%2Bb", why));
  g_assert_cmpstr (f.text, ==, "ws://h/a%0d%0aX:%20y?t=a%2Bb");
  assert_refused (&k, "ws://h/a\r\nX-Injected: yes",
                  NEEDLES ("the URL's path has the control byte 0x0D at position 9"), NULL);
  assert_refused (&k, "ws://h:0/", NEEDLES ("port", "is 0"), NULL);
  assert_refused (&k, "ws://evil%0d%0aX-Inj%3a%20y/", NEEDLES ("the URL's host has '%'"), NULL);
  assert_refused (&k, "ws://[fe80::1%25eth0]/", NEEDLES ("zone id"), NULL);
  fields_clear (&f);
}

/* origin goes into the handshake as written: no byte may end its line. */
static void
test_origin_is_a_header_value (void)
{
  const KeyDef k = KEY (KEY_STRING, 0, 0, text);
  g_autoptr (GString) why = g_string_new (NULL);
  Fields f = { 0 };

  g_assert_true (set (&k, &f, "https://app.example:8443", why));
  g_assert_true (set (&k, &f, "null", why));
  assert_refused (&k, "https://o\r\nX-Injected: yes",
                  NEEDLES ("the control byte 0x0D at position 10 cannot go into a header"), NULL);
  assert_refused (&k, "https://o\x01", NEEDLES ("the control byte 0x01 at position 10"), NULL);
  assert_refused (&k, "https://\xc3\xa9", NEEDLES ("the non-ASCII byte 0xC3 at position 9"), NULL);
  assert_refused (&k, " https://o", NEEDLES ("cannot begin or end with a space"), NULL);
  fields_clear (&f);
}

/* A proxy may carry a password: no reason repeats the value. */
static void
test_proxies (void)
{
  static const char *const good[]
      = { "none", "NONE", "http://proxy:3128", "http://u:pw@proxy:3128/", "HTTP://10.0.0.1:8080" };
  static const char *const bad[]
      = { "http://u:TOPSECRET@proxy", "socks5://u:TOPSECRET@h:1", "http://u:TOPSECRET@h:1/path",
          "https://u:TOPSECRET@h:1",  "u:TOPSECRET@h:1",          "http://u:TOPSECRET@:1" };
  const KeyDef k = KEY (KEY_PROXY, 0, 0, text);
  g_autoptr (GString) why = g_string_new (NULL);
  Fields f = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_assert_true (set (&k, &f, good[i], why));
      g_assert_cmpstr (f.text, ==, good[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    assert_refused (&k, bad[i], NEEDLES ("must be http://[user:password@]host:port or none"),
                    "TOPSECRET");
  fields_clear (&f);
}

static void
test_paths_commands_pointers_templates_policies (void)
{
  const KeyDef path = KEY (KEY_PATH, 0, 0, text);
  const KeyDef command = KEY (KEY_COMMAND, 0, 0, text);
  const KeyDef pointer = KEY (KEY_POINTER, 0, 0, text);
  const KeyDef template = KEY (KEY_TEMPLATE, 0, 0, text);
  const KeyDef policy = KEY (KEY_POLICY, 0, 0, text);
  g_autoptr (GString) why = g_string_new (NULL);
  Fields f = { 0 };

  g_assert_true (set (&path, &f, "/etc/token", why));
  assert_refused (&path, "etc/token", NEEDLES ("must be an absolute file name"), NULL);
  g_assert_true (set (&command, &f, "get-token --for 'my feed'", why));
  g_assert_cmpstr (f.text, ==, "get-token --for 'my feed'");
  assert_refused (&command, "get-token 'open", NEEDLES ("not a valid command line"), NULL);
  g_assert_true (set (&pointer, &f, "/data/0/channel", why));
  assert_refused (&pointer, "data", NEEDLES ("'/'"), NULL);
  g_assert_true (set (&template, &f, "{\"sub\":\"{channel}\"}", why));
  assert_refused (&template, "{\"sub\":1}", NEEDLES ("{channel}"), NULL);
  g_assert_true (set (&policy, &f, "drop-oldest", why));
  g_assert_true (set (&policy, &f, "disconnect", why));
  g_assert_cmpstr (f.text, ==, "disconnect");
  assert_refused (&policy, "drop", NEEDLES ("must be drop-oldest or disconnect, not 'drop'"), NULL);
  fields_clear (&f);
}

/* ${CREDENTIALS_DIRECTORY}/NAME is a systemd credential, known at run time. */
static void
test_credentials (void)
{
  const KeyDef path = KEY (KEY_PATH, 0, 0, text);
  g_autoptr (GString) why = g_string_new (NULL);
  Fields f = { 0 };

  g_unsetenv ("CREDENTIALS_DIRECTORY");
  assert_refused (&path, "${CREDENTIALS_DIRECTORY}/token",
                  NEEDLES ("CREDENTIALS_DIRECTORY is not set"), NULL);
  g_setenv ("CREDENTIALS_DIRECTORY", "/run/credentials/wsbridge.service", TRUE);
  g_assert_true (set (&path, &f, "${CREDENTIALS_DIRECTORY}/token", why));
  g_assert_cmpstr (f.text, ==, "/run/credentials/wsbridge.service/token");
  assert_refused (&path, "${CREDENTIALS_DIRECTORY}/a/b", NEEDLES ("a credential name"), NULL);
  assert_refused (&path, "${CREDENTIALS_DIRECTORY}/..", NEEDLES ("a credential name"), NULL);
  assert_refused (&path, "${CREDENTIALS_DIRECTORY}/", NEEDLES ("a credential name"), NULL);
  g_setenv ("CREDENTIALS_DIRECTORY", "relative", TRUE);
  assert_refused (&path, "${CREDENTIALS_DIRECTORY}/token",
                  NEEDLES ("CREDENTIALS_DIRECTORY is not set"), NULL);
  g_unsetenv ("CREDENTIALS_DIRECTORY");
  fields_clear (&f);
}

/* Raw lists split at ';'; entries are stripped, except frames. */
static void
test_lists (void)
{
  const KeyDef strv = KEY (KEY_STRV, 0, 0, list);
  const KeyDef frames = KEY (KEY_FRAMES, 0, 0, list);
  const KeyDef channels = KEY (KEY_CHANNELS, 0, 0, list);
  g_autoptr (GString) why = g_string_new (NULL);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  Fields f = { 0 };

  g_assert_true (set (&strv, &f, " v1.feed ; v2", why));
  g_assert_cmpstrv (f.list, ((const char *const[]){ "v1.feed", "v2", NULL }));
  g_assert_true (set (&strv, &f, "", why));
  g_assert_cmpuint (g_strv_length (f.list), ==, 0);
  assert_refused (&strv, "a b", NEEDLES ("entry 1 must be a non-empty token"), NULL);
  assert_refused (&strv, "a;;b", NEEDLES ("entry 2 must be a non-empty token"), NULL);
  assert_refused (&strv, "a;b,c", NEEDLES ("entry 2"), NULL);

  g_assert_true (set (&frames, &f, " {\"op\": \"login\"} ;x", why));
  g_assert_cmpstrv (f.list, ((const char *const[]){ " {\"op\": \"login\"} ", "x", NULL }));
  assert_refused (&frames, "ok;;", NEEDLES ("entry 2 must be a non-empty UTF-8 text frame"), NULL);
  assert_refused (&frames, "ok;\xff", NEEDLES ("entry 2 must be a non-empty UTF-8"), NULL);

  g_assert_true (set (&channels, &f, "btc-usd; eth usd", why));
  g_assert_cmpstrv (f.list, ((const char *const[]){ "btc-usd", "eth usd", NULL }));
  assert_refused (&channels, "ok;a\tb", NEEDLES ("entry 2: invalid channel name"), NULL);

  /* From a key file: its list syntax (escaped separators, a trailing ';'). */
  g_assert_true (g_key_file_load_from_data (kf, "[g]\nk=a\\;b;c;\n", -1, 0, NULL));
  g_assert_true (wsb_config_value_set (&frames, &f, kf, "g", "a\\;b;c;", why));
  g_assert_cmpstrv (f.list, ((const char *const[]){ "a;b", "c", NULL }));
  wsb_config_value_free (&frames, &f);
  g_assert_null (f.list);
}

static void
test_pins (void)
{
  const KeyDef k = KEY (KEY_PINS, 0, 0, list);
  g_autoptr (GString) why = g_string_new (NULL);
  g_autofree char *pin = g_base64_encode ((const guchar *) "0123456789abcdef0123456789abcdef", 32);
  g_autofree char *short_pin
      = g_base64_encode ((const guchar *) "0123456789abcdef0123456789abcde", 31);
  g_autofree char *two = g_strdup_printf ("%s;%s", pin, pin);
  g_autofree char *then_short = g_strdup_printf ("%s;%s", pin, short_pin);
  Fields f = { 0 };

  g_assert_cmpuint (strlen (pin), ==, 44);
  g_assert_cmpuint (strlen (short_pin), ==, 44);
  g_assert_true (set (&k, &f, two, why));
  g_assert_cmpuint (g_strv_length (f.list), ==, 2);
  assert_refused (&k, then_short, NEEDLES ("entry 2 does not decode to 32 bytes"), NULL);
  assert_refused (&k, "abc", NEEDLES ("entry 1 is not a base64 SHA-256 digest (44 characters)"),
                  NULL);
  fields_clear (&f);
}

/* Each header problem has its reason, and no reason quotes the value. */
static void
test_headers (void)
{
  const struct
  {
    const char *raw;
    const char *reason;
  } cases[] = {
    { "X-Ok: fine;Authorization Bearer TOPSECRET", "entry 2 is not of the form 'Name: value'" },
    { ": TOPSECRET", "entry 1 is not of the form" },
    { "Bad Name: TOPSECRET", "entry 1 has an invalid character in its name" },
    { "X-Key: TOP\r\nSECRET", "entry 1 has a line break in its value" },
    { "Host: TOPSECRET", "entry 1: header 'Host' is set by wsbridge itself" },
    { "origin: TOPSECRET", "set by wsbridge itself (use the origin key)" },
    { "Sec-WebSocket-Protocol: TOPSECRET", "(use the subprotocols key)" },
  };
  const KeyDef k = KEY (KEY_HEADERS, 0, 0, list);
  g_autoptr (GString) why = g_string_new (NULL);
  Fields f = { 0 };

  g_assert_true (set (&k, &f, "X-Api-Key: TOPSECRET; X-Other:  two", why));
  g_assert_cmpstrv (f.list,
                    ((const char *const[]){ "X-Api-Key: TOPSECRET", "X-Other:  two", NULL }));
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_refused (&k, cases[i].raw, NEEDLES (cases[i].reason), "TOPSECRET");
  fields_clear (&f);
  g_assert_cmpint (wsb_header_check ("X-A: b"), ==, WSB_HEADER_OK);
  g_assert_cmpint (wsb_header_check ("Content-Length: 1"), ==, WSB_HEADER_RESERVED);
  g_assert_cmpint (wsb_header_check ("X-A: b\n"), ==, WSB_HEADER_LINE_BREAK);
}

/* The table: every key found in its own group only, a typo answered with
 * the key meant, and every default valid for its key (in its range). */
static void
check_key (const WsbConfigKeyInfo *info, gpointer data)
{
  KeyGroup group = g_str_equal (info->group, "daemon") ? KEYS_DAEMON : KEYS_SESSION;
  KeyGroup other = group == KEYS_DAEMON ? KEYS_SESSION : KEYS_DAEMON;
  const KeyDef *k = wsb_config_key_lookup (group, info->name);
  g_autoptr (GString) why = g_string_new (NULL);
  g_autofree char *typo = g_strconcat (info->name, "x", NULL);
  guint *count = data;

  g_assert_nonnull (k);
  g_assert_cmpstr (k->name, ==, info->name);
  g_assert_null (wsb_config_key_lookup (other, info->name));
  g_assert_cmpstr (wsb_config_key_closest (group, typo), ==, info->name);
  g_assert_true (info->doc && *info->doc);
  if (info->ranged)
    g_assert_cmpuint (info->min, <=, info->max);
  if (k->default_value)
    {
      gpointer scratch = g_malloc0 (MAX (sizeof (WsbSessionConfig), sizeof (WsbDaemonConfig)));

      if (!wsb_config_value_set (k, scratch, NULL, NULL, k->default_value, why))
        g_error ("default of %s is refused: %s", k->name, why->str);
      wsb_config_value_free (k, scratch);
      g_free (scratch);
    }
  (*count)++;
}

static void
test_key_table (void)
{
  guint count = 0;

  wsb_config_foreach_key (check_key, &count);
  g_assert_cmpuint (count, >, 40);
  g_assert_null (wsb_config_key_lookup (KEYS_SESSION, "no_such_key"));
  g_assert_null (wsb_config_key_lookup (KEYS_SESSION, "URL"));
  g_assert_cmpstr (wsb_config_key_closest (KEYS_SESSION, "ping_intervall"), ==, "ping_interval");
  g_assert_null (wsb_config_key_closest (KEYS_SESSION, "zzzzzzzzzzzz"));
  g_assert_true (wsb_config_is_session_key ("url"));
  g_assert_false (wsb_config_is_session_key ("max_clients"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/config-value/booleans", test_booleans);
  g_test_add_func ("/config-value/numbers-and-sizes", test_numbers_and_sizes);
  g_test_add_func ("/config-value/ranges", test_ranges);
  g_test_add_func ("/config-value/text-and-key-file-escapes", test_text_and_key_file_escapes);
  g_test_add_func ("/config-value/urls", test_urls);
  g_test_add_func ("/config-value/origin", test_origin_is_a_header_value);
  g_test_add_func ("/config-value/proxies", test_proxies);
  g_test_add_func ("/config-value/paths-commands-pointers-templates-policies",
                   test_paths_commands_pointers_templates_policies);
  g_test_add_func ("/config-value/credentials", test_credentials);
  g_test_add_func ("/config-value/lists", test_lists);
  g_test_add_func ("/config-value/pins", test_pins);
  g_test_add_func ("/config-value/headers", test_headers);
  g_test_add_func ("/config-value/key-table", test_key_table);

  return g_test_run ();
}
