/* Configuration: GKeyFile files validated against one table of typed keys.
 * No I/O besides reading the files named; no side effects. */
#pragma once

#include <glib.h>

#define WSB_SESSION_NAME_MAX 64
/* The longest path and query a url may have: the request line carrying it
 * must stay within what servers accept (8 KiB is the common limit). */
#define WSB_URL_PATH_MAX 8192
/* The longest "Name: value" header a session may send (servers commonly
 * refuse request heads over 8 KiB in all). */
#define WSB_HEADER_MAX_BYTES 8192

typedef struct
{
  char *name;
  char *source; /* file that defined it, for messages */
  char *url;
  gboolean autoconnect;
  char **headers; /* "Name: value" entries; values are secret */
  char **subprotocols;
  char *origin;
  char *token_file;   /* absolute path; content becomes Authorization: Bearer */
  char *auth_command; /* run before every connect; stdout lines are headers */
  char *tls_ca_file;
  char *tls_cert_file;
  char *tls_key_file;
  char **tls_pin_sha256; /* base64 SHA-256 of the SubjectPublicKeyInfo */
  gboolean tls_insecure;
  char *proxy; /* http://[user:pw@]host:port, "none", or NULL (environment) */
  gboolean compression;
  guint64 ping_interval;
  guint64 pong_timeout;
  guint64 backoff_initial_ms;
  guint64 backoff_max_ms;
  guint64 backoff_reset_s;
  guint64 connect_timeout;
  guint64 max_message_bytes;
  guint64 queue_max_messages;
  guint64 queue_max_bytes;
  guint64 queue_ttl_ms; /* 0: never expire */
  gboolean queue_persist;
  char *channel_key; /* RFC 6901 pointer, or NULL: everything goes to "*" only */
  char *subscribe_template;
  char *unsubscribe_template;
  char **on_connect; /* text frames */
  char **channels;   /* always subscribed upstream */
  guint64 history_messages;
  guint64 history_bytes;
  guint64 ring_bytes;        /* the shared-memory ring's record area; 0: no ring */
  guint64 opening_messages;  /* kept from the start of each connection */
  guint64 opening_window_ms; /* ... that arrived this soon after it opened */
  char *resume_pointer;      /* RFC 6901 pointer to each message's id */
  char *resume_query;        /* query parameter that carries the last id at reconnect */
  char *resume_filter;       /* "POINTER=VALUE" a message must match to set the id */
  char **allow_users;        /* system instance: user names or uids besides root */
  char **allow_groups;       /* system instance: group names; NULL means "wsbridge" */
} WsbSessionConfig;

typedef struct
{
  guint64 max_clients;
  guint64 max_clients_per_user;
  guint64 hello_timeout_ms;
  guint64 max_frame_bytes;
  guint64 client_buffer_bytes;
  char *slow_client_policy; /* "drop-oldest" or "disconnect" */
  guint64 max_subscriptions_per_client;
  guint64 max_requests_per_client;
  char **create_allow_groups;    /* system instance: may create sessions at runtime */
  char **admin_groups;           /* system instance: may also set every key when creating */
  guint64 max_sessions;          /* sessions in all */
  guint64 max_sessions_per_user; /* system instance: runtime sessions one uid may hold */
} WsbDaemonConfig;

typedef struct
{
  WsbDaemonConfig daemon;
  GPtrArray *sessions; /* WsbSessionConfig*, sorted by name */
  GPtrArray *warnings; /* char*: unknown keys and groups, with file and line */
} WsbConfig;

gboolean wsb_session_name_is_valid (const char *name);
/* url as status, properties, logs and errors show it: userinfo and the
 * value of every query parameter replaced by "…" (they may hold secrets),
 * the rest as written: "wss://…@host/path?token=…&v=…". */
char *wsb_url_redact (const char *url);
/* TRUE for a key of the [session] groups (url included). */
gboolean wsb_config_is_session_key (const char *key);

typedef enum
{
  WSB_HEADER_OK,
  WSB_HEADER_MALFORMED,  /* not "Name: value" */
  WSB_HEADER_BAD_NAME,   /* a character that is not allowed in a header name */
  WSB_HEADER_LINE_BREAK, /* CR or LF in the value */
  WSB_HEADER_CONTROL,    /* another control character in the value (tab aside) */
  WSB_HEADER_TOO_LONG,   /* over WSB_HEADER_MAX_BYTES */
  WSB_HEADER_RESERVED,   /* a header wsbridge writes itself */
} WsbHeaderProblem;

/* Checks one "Name: value" handshake header (config headers= and
 * auth_command output share these rules). */
WsbHeaderProblem wsb_header_check (const char *header);

/* Who may set a [session] key when creating a session at runtime on the
 * system instance (the key table's runtime column; access.c applies it). */
typedef enum
{
  WSB_KEY_RUNTIME_ANY,   /* any caller that may create sessions */
  WSB_KEY_RUNTIME_OWN,   /* naming only the creator's own uid or groups, unless
                            root or admin_groups sets it (allow_users, allow_groups) */
  WSB_KEY_RUNTIME_ADMIN, /* only root or admin_groups: it makes the daemon read a
                            file or run a command */
} WsbKeyRuntime;

/* The runtime column of session key (WSB_KEY_RUNTIME_ADMIN for an unknown key). */
WsbKeyRuntime wsb_config_key_runtime (const char *key);
/* As wsbridge.conf(5) words it: "any creator", "own ids", "admin". */
const char *wsb_config_key_runtime_name (WsbKeyRuntime runtime);

/* One key of the configuration table, for documentation and its checks
 * (tests/packaging: every key is in wsbridge.conf(5) with its default and
 * range). */
typedef struct
{
  const char *group; /* "daemon" or "session" */
  const char *name;
  const char *type;          /* "boolean", "number", "size", "text", "list", ... */
  const char *default_value; /* as a file would write it; NULL: none */
  gboolean ranged;           /* numbers and sizes: min..max apply */
  guint64 min, max;
  const char *doc;
  const char *runtime; /* [session] keys: wsb_config_key_runtime_name; NULL for [daemon] */
} WsbConfigKeyInfo;

typedef void (*WsbConfigKeyFunc) (const WsbConfigKeyInfo *key, gpointer data);

/* Calls func for every key of the table: [daemon] keys, then [session] keys. */
void wsb_config_foreach_key (WsbConfigKeyFunc func, gpointer data);

/* Loads DIR/wsbridge.conf and DIR/sessions.d/ *.conf; missing files are fine.
 * Errors name the file, line, key and reason (WSB_ERROR_CONFIG). */
WsbConfig *wsb_config_load_dir (const char *dir, GError **error);

/* Parses one file's text; exposed for the tests and the config fuzzer.
 * default_session is the session name for a bare [session] group (NULL if
 * the file may not have one). Sessions and warnings are appended to cfg. */
gboolean wsb_config_parse_text (WsbConfig *cfg, const char *path, const char *text, gsize len,
                                const char *default_session, GError **error);

WsbConfig *wsb_config_new (void);
void wsb_config_free (WsbConfig *cfg);
WsbSessionConfig *wsb_session_config_new_default (const char *name);
WsbSessionConfig *wsb_session_config_copy (const WsbSessionConfig *src);
void wsb_session_config_free (WsbSessionConfig *sc);
gboolean wsb_session_config_equal (const WsbSessionConfig *a, const WsbSessionConfig *b);
gboolean wsb_daemon_config_equal (const WsbDaemonConfig *a, const WsbDaemonConfig *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbConfig, wsb_config_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbSessionConfig, wsb_session_config_free)
