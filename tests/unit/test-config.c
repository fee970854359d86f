#include "config.h"
#include "test-util.h"
#include "wsb-error.h"

#include <glib/gstdio.h>
#include <string.h>

static WsbConfig *
parse (const char *text, const char *default_session, GError **error)
{
  WsbConfig *cfg = wsb_config_new ();

  if (!wsb_config_parse_text (cfg, "test.conf", text, strlen (text), default_session, error))
    g_clear_pointer (&cfg, wsb_config_free);
  return cfg;
}

/* Parsing fails and the message contains every one of the needles. */
static void
assert_fails (const char *text, const char *const *needles)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbConfig) cfg = parse (text, NULL, &error);

  g_assert_null (cfg);
  g_assert_error (error, WSB_ERROR, WSB_ERROR_CONFIG);
  for (guint i = 0; needles[i]; i++)
    if (!strstr (error->message, needles[i]))
      g_error ("'%s' not in error: %s", needles[i], error->message);
}

static void
test_defaults (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbConfig) cfg = parse ("[session a]\nurl=ws://example.com/\n", NULL, &error);
  WsbSessionConfig *sc;

  g_assert_no_error (error);
  g_assert_cmpuint (cfg->sessions->len, ==, 1);
  sc = g_ptr_array_index (cfg->sessions, 0);
  g_assert_cmpstr (sc->name, ==, "a");
  g_assert_cmpstr (sc->source, ==, "test.conf");
  g_assert_true (sc->autoconnect);
  g_assert_null (sc->headers);
  g_assert_null (sc->origin);
  g_assert_cmpuint (sc->ping_interval, ==, 30);
  g_assert_cmpuint (sc->pong_timeout, ==, 10);
  g_assert_cmpuint (sc->backoff_initial_ms, ==, 500);
  g_assert_cmpuint (sc->backoff_max_ms, ==, 60000);
  g_assert_cmpuint (sc->connect_timeout, ==, 15);
  g_assert_cmpuint (sc->max_message_bytes, ==, 16 * 1024 * 1024);
  g_assert_cmpuint (sc->queue_max_messages, ==, 1000);
  g_assert_cmpuint (sc->queue_max_bytes, ==, 4 * 1024 * 1024);
  g_assert_cmpuint (sc->queue_ttl_ms, ==, 0);
  g_assert_false (sc->queue_persist);
  g_assert_null (sc->channel_key);
  g_assert_null (sc->subscribe_template);
  g_assert_null (sc->on_connect);
  g_assert_null (sc->channels);
  g_assert_cmpuint (sc->history_messages, ==, 64);
  g_assert_cmpuint (sc->history_bytes, ==, 1024 * 1024);
  g_assert_cmpuint (cfg->daemon.max_clients, ==, 256);
  g_assert_cmpuint (cfg->daemon.max_frame_bytes, ==, 16 * 1024 * 1024);
  g_assert_cmpuint (cfg->daemon.client_buffer_bytes, ==, 4 * 1024 * 1024);
  g_assert_cmpuint (cfg->warnings->len, ==, 0);
}

static void
test_values (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbConfig) cfg = parse ("[daemon]\n"
                                     "max_frame_bytes = 2MiB\n"
                                     "client_buffer_bytes=64k\n"
                                     "[session feed.1]\n"
                                     "url=wss://example.com:8443/a?b=c\n"
                                     "autoconnect=no\n"
                                     "headers=X-Api-Key: s3cret;X-Other:  two\n"
                                     "subprotocols=v1.feed;v2\n"
                                     "origin=https://example.com\n"
                                     "ping_interval=0\n"
                                     "max_message_bytes=1G\n",
                                     NULL, &error);
  WsbSessionConfig *sc;

  g_assert_no_error (error);
  sc = g_ptr_array_index (cfg->sessions, 0);
  g_assert_cmpstr (sc->name, ==, "feed.1");
  g_assert_false (sc->autoconnect);
  g_assert_cmpuint (g_strv_length (sc->headers), ==, 2);
  g_assert_cmpstr (sc->headers[0], ==, "X-Api-Key: s3cret");
  g_assert_cmpstr (sc->subprotocols[1], ==, "v2");
  g_assert_cmpstr (sc->origin, ==, "https://example.com");
  g_assert_cmpuint (sc->ping_interval, ==, 0);
  g_assert_cmpuint (sc->max_message_bytes, ==, G_GUINT64_CONSTANT (1) << 30);
  g_assert_cmpuint (cfg->daemon.max_frame_bytes, ==, 2 * 1024 * 1024);
  g_assert_cmpuint (cfg->daemon.client_buffer_bytes, ==, 64 * 1024);
}

static void
test_bad_values (void)
{
  assert_fails ("[session a]\nurl=ws://x/\n\nping_interval=banana\n",
                (const char *[]){ "test.conf:4", "ping_interval", "banana", NULL });
  assert_fails ("[session a]\nurl=ws://x/\nping_interval=86401\n",
                (const char *[]){ "test.conf:3", "ping_interval", "out of range", NULL });
  assert_fails ("[session a]\nurl=ws://x/\npong_timeout=0\n",
                (const char *[]){ "pong_timeout", "out of range", NULL });
  assert_fails (
      "[session a]\nurl=ws://x/\nautoconnect=maybe\n",
      (const char *[]){ "autoconnect", "a boolean (true/false, yes/no, on/off or 1/0)", NULL });
  assert_fails ("[session a]\nurl=http://x/\n", (const char *[]){ "url", "ws://", NULL });
  assert_fails ("[session a]\nurl=ws://u:p@x/\n", (const char *[]){ "url", "credentials", NULL });
  assert_fails ("[session a]\nurl=ws:///nohost\n", (const char *[]){ "url", NULL });
  assert_fails ("[session a]\nautoconnect=true\n", (const char *[]){ "url", "missing", NULL });
  assert_fails ("[session a]\nurl=ws://x/\nbackoff_initial_ms=5000\nbackoff_max_ms=1000\n",
                (const char *[]){ "backoff_max_ms", "backoff_initial_ms", NULL });
  assert_fails ("[session a]\nurl=ws://x/\nmax_message_bytes=12Q\n",
                (const char *[]){ "max_message_bytes", "size", NULL });
  assert_fails ("[session a]\nurl=ws://x/\nmax_message_bytes=-1\n",
                (const char *[]){ "max_message_bytes", NULL });
  assert_fails ("[session a]\nurl=ws://x/\nconnect_timeout=5K\n",
                (const char *[]){ "connect_timeout", "whole number", NULL });
  assert_fails ("[session a]\nurl=ws://x/\nmax_message_bytes=99999999999999999999999\n",
                (const char *[]){ "max_message_bytes", NULL });
  assert_fails ("[daemon]\nmax_clients=0\n", (const char *[]){ "max_clients", NULL });
  assert_fails ("# c\nurl=ws://x/\n[session a]\nurl=ws://x/\n",
                (const char *[]){ "test.conf:2: key outside any [group]", NULL });
  assert_fails ("[session a]\nurl=ws://x/\n[session t\nurl=ws://y/\n",
                (const char *[]){ "test.conf:3: unclosed group header", NULL });
  assert_fails ("[session a]\nurl=ws://x/\njust words\n",
                (const char *[]){ "test.conf:3: not a key=value pair", NULL });
  assert_fails ("[session a]\nurl=ws://x/\norigin=\xff\n",
                (const char *[]){ "test.conf:3", "origin", "not valid UTF-8", NULL });
  {
    g_autofree char *long_path = g_strnfill (9000, 'p');
    g_autofree char *path = g_strdup_printf ("[session a]\nurl=ws://x/%s\n", long_path);
    assert_fails (path,
                  (const char *[]){ "url", "path of 9001 bytes is longer than the 8192", NULL });
  }
  assert_fails ("[session Bad]\nurl=ws://x/\n", (const char *[]){ "invalid session name", NULL });
  assert_fails ("[session ../x]\nurl=ws://x/\n", (const char *[]){ "invalid session name", NULL });
  assert_fails ("[session a]\nurl=ws://x/\n[session a]\nurl=ws://y/\n",
                (const char *[]){ "test.conf:3", "twice", NULL });
  assert_fails ("[session a]\nurl=ws://x/\nsubprotocols=a b\n",
                (const char *[]){ "subprotocols", "entry 1", NULL });
}

/* Header problems are explained without ever quoting the header's value. */
static void
test_headers_never_echoed (void)
{
  const char *cases[] = {
    "[session a]\nurl=ws://x/\nheaders=Authorization Bearer TOPSECRET\n",
    "[session a]\nurl=ws://x/\nheaders=X-Ok: fine;Bad Name: TOPSECRET\n",
    "[session a]\nurl=ws://x/\nheaders=Host: TOPSECRET\n",
    "[session a]\nurl=ws://x/\nthis line is broken TOPSECRET\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (WsbConfig) cfg = parse (cases[i], NULL, &error);
      g_assert_null (cfg);
      g_assert_nonnull (error);
      g_assert_null (strstr (error->message, "TOPSECRET"));
      g_assert_nonnull (strstr (error->message, "test.conf"));
    }
}

static void
test_unknown_keys_warn (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbConfig) cfg = parse ("[session a]\nurl=ws://x/\n\npingg_interval=3\n"
                                     "[weird]\nk=v\n",
                                     NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (cfg->warnings->len, ==, 2);
  g_assert_nonnull (strstr (g_ptr_array_index (cfg->warnings, 0), "test.conf:4"));
  g_assert_nonnull (strstr (g_ptr_array_index (cfg->warnings, 0), "pingg_interval"));
  g_assert_nonnull (strstr (g_ptr_array_index (cfg->warnings, 1), "[weird]"));
}

static void
test_bare_session_group (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbConfig) cfg = parse ("[session]\nurl=ws://x/\n", "fromfile", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (((WsbSessionConfig *) g_ptr_array_index (cfg->sessions, 0))->name, ==,
                   "fromfile");
  /* A bare [session] in wsbridge.conf has no name: warned, not used. */
  g_autoptr (WsbConfig) cfg2 = parse ("[session]\nurl=ws://x/\n", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cfg2->sessions->len, ==, 0);
  g_assert_cmpuint (cfg2->warnings->len, ==, 1);
}

static void
test_names (void)
{
  g_assert_true (wsb_session_name_is_valid ("a"));
  g_assert_true (wsb_session_name_is_valid ("0feed_x.y-z"));
  g_assert_false (wsb_session_name_is_valid (""));
  g_assert_false (wsb_session_name_is_valid ("-a"));
  g_assert_false (wsb_session_name_is_valid ("A"));
  g_assert_false (wsb_session_name_is_valid ("a/b"));
  g_assert_false (wsb_session_name_is_valid (".."));
  char long_name[66];
  memset (long_name, 'a', 65);
  long_name[65] = '\0';
  g_assert_false (wsb_session_name_is_valid (long_name));
  long_name[64] = '\0';
  g_assert_true (wsb_session_name_is_valid (long_name));
}

static void
write_file (const char *dir, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
test_load_dir (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = wsb_test_tmp_dir ("wsb-config-XXXXXX");
  g_autofree char *sd = g_build_filename (dir, "sessions.d", NULL);
  g_autoptr (WsbConfig) cfg = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir (sd, 0700), ==, 0);
  write_file (dir, "wsbridge.conf", "[daemon]\nmax_clients=5\n[session zz]\nurl=ws://z/\n");
  write_file (sd, "bb.conf", "[session]\nurl=ws://b/\n");
  write_file (sd, "aa.conf", "[session]\nurl=ws://a/\n");
  write_file (sd, "ignored.txt", "garbage");

  cfg = wsb_config_load_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cfg->daemon.max_clients, ==, 5);
  g_assert_cmpuint (cfg->sessions->len, ==, 3);
  g_assert_cmpstr (((WsbSessionConfig *) g_ptr_array_index (cfg->sessions, 0))->name, ==, "aa");
  g_assert_cmpstr (((WsbSessionConfig *) g_ptr_array_index (cfg->sessions, 2))->name, ==, "zz");

  /* The same name in two files is an error naming the first file. */
  write_file (sd, "zz.conf", "[session]\nurl=ws://zz/\n");
  g_clear_pointer (&cfg, wsb_config_free);
  cfg = wsb_config_load_dir (dir, &error);
  g_assert_null (cfg);
  g_assert_error (error, WSB_ERROR, WSB_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "wsbridge.conf"));
  g_clear_error (&error);

  /* A missing directory is an empty configuration. */
  g_autofree char *none = g_build_filename (dir, "nope", NULL);
  cfg = wsb_config_load_dir (none, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cfg->sessions->len, ==, 0);

  wsb_test_rm_rf (dir);
}

static void
test_copy_equal (void)
{
  g_autoptr (WsbConfig) cfg = parse ("[session a]\nurl=ws://x/\nheaders=A: 1\n", NULL, NULL);
  WsbSessionConfig *sc = g_ptr_array_index (cfg->sessions, 0);
  g_autoptr (WsbSessionConfig) copy = wsb_session_config_copy (sc);

  g_assert_true (wsb_session_config_equal (sc, copy));
  g_assert_true (copy->headers != sc->headers);
  copy->ping_interval++;
  g_assert_false (wsb_session_config_equal (sc, copy));
  copy->ping_interval--;
  g_free (copy->headers[0]);
  copy->headers[0] = g_strdup ("A: 2");
  g_assert_false (wsb_session_config_equal (sc, copy));
}

static void
test_channel_keys (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbConfig) cfg
      = parse ("[session a]\nurl=ws://example.com/\n"
               "channel_key=/data/0/a~1b\n"
               "subscribe_template={\"op\":\"sub\",\"ch\":\"{channel}\"}\n"
               "unsubscribe_template={\"op\":\"unsub\",\"ch\":\"{channel}\"}\n"
               "on_connect={\"op\":\"login\"};{\"a\":\"x\\;y\"}\n"
               "channels=btc usd;eth\n"
               "history_messages=0\nhistory_bytes=64K\nqueue_ttl_ms=1500\nqueue_persist=yes\n",
               NULL, &error);
  WsbSessionConfig *sc;

  g_assert_no_error (error);
  sc = g_ptr_array_index (cfg->sessions, 0);
  g_assert_cmpstr (sc->channel_key, ==, "/data/0/a~1b");
  g_assert_cmpstr (sc->subscribe_template, ==, "{\"op\":\"sub\",\"ch\":\"{channel}\"}");
  g_assert_cmpuint (g_strv_length (sc->on_connect), ==, 2);
  /* A frame is taken as written, with "\;" for a ';' inside it. */
  g_assert_cmpstr (sc->on_connect[1], ==, "{\"a\":\"x;y\"}");
  g_assert_cmpuint (g_strv_length (sc->channels), ==, 2);
  g_assert_cmpstr (sc->channels[0], ==, "btc usd");
  g_assert_cmpuint (sc->history_messages, ==, 0);
  g_assert_cmpuint (sc->history_bytes, ==, 64 * 1024);
  g_assert_cmpuint (sc->queue_ttl_ms, ==, 1500);
  g_assert_true (sc->queue_persist);

  {
    g_autoptr (WsbSessionConfig) copy = wsb_session_config_copy (sc);
    g_assert_true (wsb_session_config_equal (sc, copy));
    g_free (copy->channels[1]);
    copy->channels[1] = g_strdup ("xrp");
    g_assert_false (wsb_session_config_equal (sc, copy));
  }

  assert_fails ("[session a]\nurl=ws://e/\nchannel_key=channel\n",
                (const char *const[]){ "test.conf:3", "channel_key", NULL });
  assert_fails ("[session a]\nurl=ws://e/\nchannel_key=/a~2\n",
                (const char *const[]){ "channel_key", "~", NULL });
  assert_fails ("[session a]\nurl=ws://e/\nsubscribe_template={\"op\":\"sub\"}\n",
                (const char *const[]){ "subscribe_template", "{channel}", NULL });
  assert_fails ("[session a]\nurl=ws://e/\nchannels=ok;bad\\tname\n",
                (const char *const[]){ "channels", "entry 2", NULL });
  assert_fails ("[session a]\nurl=ws://e/\non_connect=a;;b\n",
                (const char *const[]){ "on_connect", "entry 2", NULL });
  assert_fails ("[session a]\nurl=ws://e/\nhistory_messages=2000000\n",
                (const char *const[]){ "history_messages", "out of range", NULL });
  assert_fails ("[session a]\nurl=ws://e/\nqueue_persist=maybe\n",
                (const char *const[]){ "queue_persist",
                                       "a boolean (true/false, yes/no, on/off or 1/0)", NULL });
}

/* ${CREDENTIALS_DIRECTORY}/NAME in a file name key: systemd's credentials
 * directory of the running daemon, and an error naming the key without it. */
static void
test_credentials (void)
{
  const char *text = "[session a]\nurl=ws://example.com/\n"
                     "token_file=${CREDENTIALS_DIRECTORY}/prices-token\n"
                     "tls_key_file=${CREDENTIALS_DIRECTORY}/client.key\n"
                     "tls_cert_file=/etc/ssl/client.pem\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbConfig) cfg = NULL;
  WsbSessionConfig *sc;

  g_setenv ("CREDENTIALS_DIRECTORY", "/run/credentials/wsbridge.service", TRUE);
  cfg = parse (text, NULL, &error);
  g_assert_no_error (error);
  sc = g_ptr_array_index (cfg->sessions, 0);
  g_assert_cmpstr (sc->token_file, ==, "/run/credentials/wsbridge.service/prices-token");
  g_assert_cmpstr (sc->tls_key_file, ==, "/run/credentials/wsbridge.service/client.key");
  g_assert_cmpstr (sc->tls_cert_file, ==, "/etc/ssl/client.pem");

  assert_fails ("[session a]\nurl=ws://example.com/\ntoken_file=${CREDENTIALS_DIRECTORY}/\n",
                (const char *[]){ "test.conf:3", "token_file", "credential name", NULL });
  assert_fails ("[session a]\nurl=ws://example.com/\n"
                "token_file=${CREDENTIALS_DIRECTORY}/../etc/shadow\n",
                (const char *[]){ "token_file", "credential name", NULL });
  g_unsetenv ("CREDENTIALS_DIRECTORY");
  assert_fails (text,
                (const char *[]){ "test.conf:3", "token_file", "CREDENTIALS_DIRECTORY is not set",
                                  "LoadCredential=", NULL });
}

/* What status, properties, logs and errors show of a URL. */
static void
test_url_redact (void)
{
  static const char *const cases[][2] = {
    { "wss://host/path?token=abc", "wss://host/path?token=…" },
    { "ws://h:8080/a?x=1&y=2&flag", "ws://h:8080/a?x=…&y=…&flag" },
    { "wss://user:pw@host/p", "wss://…@host/p" },
    { "wss://a@b@host/?k=%2F", "wss://…@host/?k=…" },
    { "ws://h/path", "ws://h/path" },
    { "ws://h/p?", "ws://h/p?" },
    { "ws://h/p?=v", "ws://h/p?=…" },
    { "ws://h/p?a=1#frag", "ws://h/p?a=…#…" },
    { "ws://[::1]:9/x?t=s", "ws://[::1]:9/x?t=…" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *shown = wsb_url_redact (cases[i][0]);
      g_assert_cmpstr (shown, ==, cases[i][1]);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/values", test_values);
  g_test_add_func ("/config/bad-values", test_bad_values);
  g_test_add_func ("/config/headers-never-echoed", test_headers_never_echoed);
  g_test_add_func ("/config/unknown-keys-warn", test_unknown_keys_warn);
  g_test_add_func ("/config/bare-session-group", test_bare_session_group);
  g_test_add_func ("/config/names", test_names);
  g_test_add_func ("/config/load-dir", test_load_dir);
  g_test_add_func ("/config/copy-equal", test_copy_equal);
  g_test_add_func ("/config/channel-keys", test_channel_keys);
  g_test_add_func ("/config/credentials", test_credentials);
  g_test_add_func ("/config/url-redact", test_url_redact);
  return g_test_run ();
}
