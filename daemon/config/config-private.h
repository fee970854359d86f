/* What the files of the configuration share: the key table's types (the
 * table itself is config.c's) and the functions one file calls in another.
 *
 *   config.c        the key table (types, defaults, ranges, docs) and the
 *                   structs made from it: defaults, copy, compare, free
 *   config-value.c  one value: parsed from its text, checked, stored in its field
 *   config-file.c   a file's text (groups, keys, line numbers for messages)
 *                   and the configuration directory
 *
 * config.c and config-value.c are pure; config-file.c reads the files. */
#pragma once

#include "config.h"

typedef enum
{
  KEY_BOOL,
  KEY_UINT,   /* plain whole number */
  KEY_SIZE,   /* bytes, with optional K/M/G suffix */
  KEY_STRING, /* text sent as a header value (origin): visible ASCII */
  KEY_STRV,
  KEY_URL,      /* ws:// or wss:// */
  KEY_HEADERS,  /* list of "Name: value"; values never echoed */
  KEY_PATH,     /* absolute file name */
  KEY_COMMAND,  /* a command line, split like a shell would (no shell runs it) */
  KEY_PINS,     /* list of base64 SHA-256 digests */
  KEY_PROXY,    /* http://[user:pw@]host:port or none */
  KEY_POINTER,  /* RFC 6901 JSON pointer */
  KEY_TEMPLATE, /* text frame with {channel} */
  KEY_CHANNELS, /* list of channel names */
  KEY_FRAMES,   /* list of text frames */
  KEY_POLICY,   /* slow_client_policy: drop-oldest or disconnect */
  KEY_PARAM,    /* a URL query parameter's name */
  KEY_MATCH,    /* POINTER=VALUE: a JSON pointer and the text its value must be */
} KeyType;

/* How a key's value is held in its struct field. */
typedef enum
{
  STORE_BOOL,   /* gboolean */
  STORE_NUMBER, /* guint64 */
  STORE_TEXT,   /* char *, owned */
  STORE_LIST,   /* char **, owned */
} Storage;

static inline Storage
key_storage (KeyType type)
{
  switch (type)
    {
      case KEY_BOOL:
        return STORE_BOOL;
      case KEY_UINT:
      case KEY_SIZE:
        return STORE_NUMBER;
      case KEY_STRV:
      case KEY_HEADERS:
      case KEY_PINS:
      case KEY_CHANNELS:
      case KEY_FRAMES:
        return STORE_LIST;
      default:
        return STORE_TEXT;
    }
}

typedef struct
{
  const char *name;
  KeyType type;
  const char *default_value; /* parsed like a file value; NULL = unset */
  guint64 min, max;
  gsize offset;
  const char *doc;
  WsbKeyRuntime runtime; /* [session] keys: who may set it when creating a session */
} KeyDef;

#define KIB (G_GUINT64_CONSTANT (1024))
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

typedef enum
{
  KEYS_DAEMON,  /* [daemon] of wsbridge.conf */
  KEYS_SESSION, /* [session NAME], and [session] of sessions.d/NAME.conf */
} KeyGroup;

/* ---- config.c: the key table */

/* The key of group called name, or NULL. */
const KeyDef *wsb_config_key_lookup (KeyGroup group, const char *name);

/* The key of group an unknown one was probably meant to be, or NULL. */
const char *wsb_config_key_closest (KeyGroup group, const char *name);

/* ---- config-value.c */

/* Sets k's field of base (a WsbSessionConfig or WsbDaemonConfig) from the
 * raw text of its value. Text and lists are read with kf's unescaping when
 * kf is given, else taken from raw (lists separated by ';'). On failure why
 * gets the reason, which never holds a header's value or a proxy's password,
 * and the field is unchanged. */
gboolean wsb_config_value_set (const KeyDef *k, gpointer base, GKeyFile *kf, const char *group,
                               const char *raw, GString *why);

/* Frees k's field of base if it owns memory, leaving it NULL. */
void wsb_config_value_free (const KeyDef *k, gpointer base);
