/* ws-url: a URL taken apart without decoding, and what is refused. */
#include <string.h>

#include "ws-url.h"

static void
test_taken_as_written (void)
{
  static const struct
  {
    const char *url;
    gboolean tls;
    const char *host, *host_header, *connect_target, *target;
    guint port;
  } cases[] = {
    { "ws://h/", FALSE, "h", "h", "h:80", "/", 80 },
    { "ws://h", FALSE, "h", "h", "h:80", "/", 80 },
    { "WSS://H.Example.TEST", TRUE, "H.Example.TEST", "H.Example.TEST", "H.Example.TEST:443", "/",
      443 },
    { "ws://h?x=1", FALSE, "h", "h", "h:80", "/?x=1", 80 },
    { "ws://h:80/", FALSE, "h", "h", "h:80", "/", 80 },
    { "wss://h:443/", TRUE, "h", "h", "h:443", "/", 443 },
    { "ws://h:443/", FALSE, "h", "h:443", "h:443", "/", 443 },
    { "ws://h:/", FALSE, "h", "h", "h:80", "/", 80 },
    { "ws://h:0080/", FALSE, "h", "h", "h:80", "/", 80 },
    { "ws://h/a%0d%0aX-Injected:%20yes", FALSE, "h", "h", "h:80", "/a%0d%0aX-Injected:%20yes", 80 },
    { "ws://h/?token=a%2Bb%3D%26admin%3Dtrue", FALSE, "h", "h", "h:80",
      "/?token=a%2Bb%3D%26admin%3Dtrue", 80 },
    { "ws://h/a%2Fb/%20c", FALSE, "h", "h", "h:80", "/a%2Fb/%20c", 80 },
    { "ws://h/%zz%", FALSE, "h", "h", "h:80", "/%zz%", 80 },
    { "ws://h/p?q?r=/s", FALSE, "h", "h", "h:80", "/p?q?r=/s", 80 },
    { "ws://h//a/../b/./c", FALSE, "h", "h", "h:80", "//a/../b/./c", 80 },
    { "ws://h/a+b;c=d,e!$&'()*@:~", FALSE, "h", "h", "h:80", "/a+b;c=d,e!$&'()*@:~", 80 },
    { "ws://10.0.0.1:9000/x", FALSE, "10.0.0.1", "10.0.0.1:9000", "10.0.0.1:9000", "/x", 9000 },
    { "ws://[::1]/", FALSE, "::1", "[::1]", "[::1]:80", "/", 80 },
    { "wss://[2001:db8::1]:8443/x", TRUE, "2001:db8::1", "[2001:db8::1]:8443", "[2001:db8::1]:8443",
      "/x", 8443 },
    { "ws://a_b-c.d./", FALSE, "a_b-c.d.", "a_b-c.d.", "a_b-c.d.:80", "/", 80 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      WsbWsUrl u = { 0 };
      g_autofree char *why = NULL;

      g_test_message ("%s", cases[i].url);
      g_assert_true (wsb_ws_url_parse (cases[i].url, &u, &why));
      g_assert_null (why);
      g_assert_cmpint (u.tls, ==, cases[i].tls);
      g_assert_cmpstr (u.host, ==, cases[i].host);
      g_assert_cmpstr (u.host_header, ==, cases[i].host_header);
      g_assert_cmpstr (u.connect_target, ==, cases[i].connect_target);
      g_assert_cmpstr (u.target, ==, cases[i].target);
      g_assert_cmpuint (u.port, ==, cases[i].port);
      wsb_ws_url_clear (&u);
    }
}

static void
test_refused (void)
{
  static const struct
  {
    const char *url, *why;
  } cases[] = {
    { "ws://h/a\r\nX-Injected: yes", "the URL's path has the control byte 0x0D at position 9" },
    { "ws://h/a b", "the URL's path has a space at position 9" },
    { "ws://h/a\tb", "the URL's path has the control byte 0x09 at position 9" },
    { "ws://h/\x7f", "the URL's path has the control byte 0x7F at position 8" },
    { "ws://h/caf\xc3\xa9", "the URL's path has the non-ASCII byte 0xC3 at position 11" },
    { "ws://h/?q=a b", "the URL's query has a space at position 12" },
    { "ws://h/#top", "a WebSocket URL cannot have a #fragment (position 8)" },
    { "ws://h#top", "#fragment (position 7)" },
    { "ws://h/?a#", "#fragment (position 10)" },
    { "ws://u:TOPSECRET@h/", "credentials in the URL are not supported" },
    { "ws://h:0/", "the URL's port at position 8 is 0, which cannot be connected to" },
    { "ws://h:00/", "is 0, which cannot" },
    { "ws://h:65536/", "the URL's port at position 8 is over 65535" },
    { "ws://h:99999999999999999999/", "is over 65535" },
    { "ws://h:8x/", "the URL's port has 'x' at position 9" },
    { "ws://h:80:81/", "the URL's port has ':' at position 10" },
    { "ws://h:-1/", "the URL's port has '-' at position 8" },
    { "ws://evil%0d%0aX-Inj%3a%20y/", "the URL's host has '%' at position 10 (percent-encoding" },
    { "ws://h\r\nX: y/", "the URL's host has the control byte 0x0D at position 7" },
    { "ws://h x/", "the URL's host has a space at position 7" },
    { "ws://h!x/", "the URL's host has '!' at position 7, which a host name cannot have" },
    { "ws://ex\xc3\xa4mple/", "the URL's host has the non-ASCII byte 0xC3 at position 8" },
    { "ws://[fe80::1%25eth0]/",
      "IPv6 zone id (%25…) at position 14, which wsbridge does not support" },
    { "ws://[::1/", "the URL's host has '[' at position 6 without a closing ']'" },
    { "ws://[example.com]/", "is in brackets but is not an IPv6 address" },
    { "ws://[v1.x]/", "is in brackets but is not an IPv6 address" },
    { "ws://[::1]x/", "the URL's host has 'x' at position 11 after the IPv6 address" },
    { "ws:///path", "the URL has no host" },
    { "ws://:80/", "the URL has no host" },
    { "ws://", "the URL has no host" },
    { "http://h/", "scheme must be ws:// or wss://, not http://" },
    { "not a url", "not a valid URL" },
    { "ws:h/", "not a valid URL" },
    { "w s://h/", "not a valid URL" },
    { "://h/", "not a valid URL" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      WsbWsUrl u = { 0 };
      g_autofree char *why = NULL;

      g_test_message ("%s", cases[i].url);
      g_assert_false (wsb_ws_url_parse (cases[i].url, &u, &why));
      g_assert_nonnull (strstr (why, cases[i].why));
      g_assert_null (strstr (why, "TOPSECRET"));
      g_assert_null (u.host);
      g_assert_null (u.target);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ws-url/taken-as-written", test_taken_as_written);
  g_test_add_func ("/ws-url/refused", test_refused);
  return g_test_run ();
}
