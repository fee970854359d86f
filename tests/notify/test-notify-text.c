#include <string.h>

#include "notify-markdown.h"
#include "notify-text.h"

#define assert_clean(in, len, max, multiline, expected)                                            \
  do                                                                                               \
    {                                                                                              \
      g_autofree char *got_ = wsb_notify_text_clean (in, len, max, multiline);                     \
      g_assert_cmpstr (got_, ==, expected);                                                        \
      g_assert_true (g_utf8_validate (got_, -1, NULL));                                            \
    }                                                                                              \
  while (0)

static void
test_short_text_unchanged (void)
{
  assert_clean ("hello", -1, 10, FALSE, "hello");
  assert_clean ("  padded \n", -1, 10, FALSE, "padded");
  assert_clean ("", -1, 10, FALSE, "");
  assert_clean (" \n\t ", -1, 10, TRUE, "");
}

static void
test_line_breaks_and_controls (void)
{
  assert_clean ("a\nb\r\nc\rd", -1, 20, TRUE, "a\nb\nc\nd");
  assert_clean ("a\nb\r\nc", -1, 20, FALSE, "a b c");
  assert_clean ("tab\there\x1b[31mred\x7f", -1, 40, TRUE, "tab here [31mred");
  /* C1 controls too. */
  assert_clean ("a\xc2\x85"
                "b",
                -1, 10, TRUE, "a b");
}

static void
test_invalid_utf8_and_nul (void)
{
  assert_clean ("ok\xff\xfe!", -1, 10, FALSE, "ok\ufffd\ufffd!");
  assert_clean ("a\0b", 3, 10, FALSE, "a\ufffdb");
  /* A sequence cut short at the end. */
  assert_clean ("caf\xc3", 4, 10, FALSE, "caf\ufffd");
}

static void
test_trimmed_by_characters (void)
{
  /* 10 characters of 2 bytes each; max 6: 5 of them and the ellipsis. */
  assert_clean ("éééééééééé", -1, 6, FALSE, "ééééé…");
  assert_clean ("abcdef", -1, 6, FALSE, "abcdef");
  assert_clean ("abcdefg", -1, 6, FALSE, "abcde…");
  /* Trailing white space does not make a text long. */
  assert_clean ("abcdef    ", -1, 6, FALSE, "abcdef");
  /* No white space before the ellipsis. */
  assert_clean ("abcd efgh", -1, 6, FALSE, "abcd…");
  /* Four-byte characters cut in the middle of the read prefix. */
  assert_clean ("😀😀😀😀😀😀😀😀😀😀", -1, 3, FALSE, "😀😀…");
}

static void
test_huge_input_reads_a_prefix (void)
{
  gsize len = 64 * 1024 * 1024;
  g_autofree char *big = g_malloc (len);
  g_autofree char *got = NULL;

  memset (big, 'x', len);
  got = wsb_notify_text_clean (big, (gssize) len, 500, TRUE);
  g_assert_cmpuint (g_utf8_strlen (got, -1), ==, 500);
  g_assert_true (g_str_has_suffix (got, "x…"));
}

static void
test_escape (void)
{
  g_autofree char *e = wsb_notify_text_escape ("<b>bold</b> & <a href=\"x\">'q'</a>");
  g_autofree char *plain = wsb_notify_text_escape ("plain text é");

  g_assert_cmpstr (e, ==, "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;a href=\"x\"&gt;'q'&lt;/a&gt;");
  g_assert_cmpstr (plain, ==, "plain text é");
}

static void
test_count (void)
{
  static const struct
  {
    guint64 n;
    const char *text;
  } cases[] = { { 0, "0" },
                { 7, "7" },
                { 999, "999" },
                { 1000, "1,000" },
                { 2398, "2,398" },
                { 123456, "123,456" },
                { 1234567, "1,234,567" },
                { G_MAXUINT64, "18,446,744,073,709,551,615" } };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *t = wsb_notify_text_count (cases[i].n);

      g_assert_cmpstr (t, ==, cases[i].text);
    }
}

static void
test_markdown (void)
{
  static const struct
  {
    const char *md, *markup, *plain;
  } cases[] = {
    { "took **3m 12s**", "took <b>3m 12s</b>", "took 3m 12s" },
    { "an *italic* and _this_", "an <i>italic</i> and <i>this</i>", "an italic and this" },
    { "__bold__ `a*b*c` \\*not\\*", "<b>bold</b> a*b*c *not*", "bold a*b*c *not*" },
    { "see [the log](https://ci.example.com/1?a=1&b=\"2\")",
      "see <a href=\"https://ci.example.com/1?a=1&amp;b=&quot;2&quot;\">the log</a>",
      "see the log (https://ci.example.com/1?a=1&b=\"2\")" },
    { "[local](file:///etc/passwd) <b>x</b> & y", "local &lt;b&gt;x&lt;/b&gt; &amp; y",
      "local <b>x</b> & y" },
    { "# Backup\n- one **ok**\n* two", "<b>Backup</b>\n\u2022 one <b>ok</b>\n\u2022 two",
      "Backup\n\u2022 one ok\n\u2022 two" },
    { "2 * 3 * 4 and backup_job_name", "2 * 3 * 4 and backup_job_name",
      "2 * 3 * 4 and backup_job_name" },
    { "**unclosed", "**unclosed", "**unclosed" },
    { "_a_ b\n_c_ x_y_", "<i>a</i> b\n<i>c</i> x_y_", "a b\nc x_y_" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *markup = wsb_notify_markdown_render (cases[i].md, TRUE);
      g_autofree char *plain = wsb_notify_markdown_render (cases[i].md, FALSE);

      g_assert_cmpstr (markup, ==, cases[i].markup);
      g_assert_cmpstr (plain, ==, cases[i].plain);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/notify-text/short", test_short_text_unchanged);
  g_test_add_func ("/notify-text/line-breaks-and-controls", test_line_breaks_and_controls);
  g_test_add_func ("/notify-text/invalid-utf8", test_invalid_utf8_and_nul);
  g_test_add_func ("/notify-text/trimmed", test_trimmed_by_characters);
  g_test_add_func ("/notify-text/huge", test_huge_input_reads_a_prefix);
  g_test_add_func ("/notify-text/escape", test_escape);
  g_test_add_func ("/notify-text/count", test_count);
  g_test_add_func ("/notify-text/markdown", test_markdown);
  return g_test_run ();
}
