/* wsbridge-list: prints every session of a wsbridged, one per line:
 * NAME <tab> STATE <tab> URL.
 *
 * The smallest libwsbridge program; build it against an installed libwsbridge:
 *
 *   cc -o wsbridge-list wsbridge-list.c $(pkg-config --cflags --libs wsbridge)
 *   ./wsbridge-list [SOCKET]
 *
 * SOCKET defaults to the user instance's $XDG_RUNTIME_DIR/wsbridge/wsbridge.sock.
 * Exit status: 0 ok, 1 error (message on stderr), 2 usage. */
#include <wsbridge.h>

#include <stdio.h>
#include <stdlib.h>

int
main (int argc, char **argv)
{
  char path[4096];
  const char *runtime_dir = getenv ("XDG_RUNTIME_DIR");
  Wsbridge__V1__Reply *reply = NULL;
  WsbClient *client;
  WsbClientStatus st;

  if (argc > 2)
    {
      fprintf (stderr, "usage: %s [SOCKET]\n", argv[0]);
      return 2;
    }
  if (argc == 2)
    snprintf (path, sizeof path, "%s", argv[1]);
  else if (runtime_dir)
    snprintf (path, sizeof path, "%s/wsbridge/wsbridge.sock", runtime_dir);
  else
    {
      fprintf (stderr, "%s: XDG_RUNTIME_DIR is not set; name the socket\n", argv[0]);
      return 2;
    }

  client = wsb_client_new ();
  if (!client)
    return 1;
  st = wsb_client_connect (client, path, "wsbridge-list");
  if (st != WSB_CLIENT_OK)
    fprintf (stderr, "%s: %s: %s\n", argv[0], path, wsb_client_error (client));
  else if ((st = wsb_client_list_sessions (client, &reply)) != WSB_CLIENT_OK)
    fprintf (stderr, "%s: %s\n", argv[0], wsb_client_error (client));
  if (st != WSB_CLIENT_OK)
    {
      wsb_client_free (client);
      return 1;
    }

  for (size_t i = 0; i < reply->list_sessions->n_sessions; i++)
    {
      const Wsbridge__V1__SessionStatus *s = reply->list_sessions->sessions[i];

      printf ("%s\t%s\t%s\n", s->name, wsb_client_state_to_string (s->state), s->url);
    }
  wsb_client_reply_free (reply);
  wsb_client_free (client);
  return 0;
}
