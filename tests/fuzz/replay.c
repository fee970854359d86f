/* Runs a fuzz target without libFuzzer: LLVMFuzzerTestOneInput over every
 * file named on the command line and every regular file of every directory
 * named (sorted, so runs are repeatable). Linked with each target into
 * fuzz-*-replay, which "meson test --suite fuzz" runs over the seed corpus
 * with any compiler, and under the sanitizer and valgrind setups. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static gboolean
run_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree guint8 *input = NULL;
  gsize len;

  if (!g_file_get_contents (path, &contents, &len, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return FALSE;
    }
  /* A buffer of exactly the input's size, as libFuzzer passes it, so that a
   * read past the end is caught (g_file_get_contents adds a NUL). */
  input = g_malloc (len ? len : 1);
  memcpy (input, contents, len);
  printf ("%s (%" G_GSIZE_FORMAT " bytes)\n", path, len);
  fflush (stdout);
  LLVMFuzzerTestOneInput (input, len);
  return TRUE;
}

int
main (int argc, char **argv)
{
  guint n = 0;

  if (argc < 2)
    {
      fprintf (stderr, "usage: %s FILE-OR-DIR...\n", argv[0]);
      return 2;
    }
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (GDir) dir = g_dir_open (argv[i], 0, &error);
          const char *name;

          if (!dir)
            {
              fprintf (stderr, "%s\n", error->message);
              return 1;
            }
          while ((name = g_dir_read_name (dir)))
            {
              char *path = g_build_filename (argv[i], name, NULL);
              if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
                g_ptr_array_add (files, path);
              else
                g_free (path);
            }
          g_ptr_array_sort (files, compare_strings);
        }
      else
        g_ptr_array_add (files, g_strdup (argv[i]));
      for (guint j = 0; j < files->len; j++, n++)
        if (!run_file (g_ptr_array_index (files, j)))
          return 1;
    }
  if (n == 0)
    {
      fprintf (stderr, "no input files\n");
      return 1;
    }
  printf ("%u inputs, no crash\n", n);
  return 0;
}
