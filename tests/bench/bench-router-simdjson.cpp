// bench-router: simdjson's On-Demand API, which builds no tree, through
// document::at_pointer. "simdjson-ondemand" is simdjson as it is meant to be
// used, not with the router's semantics: at_pointer takes the first of
// duplicate keys and checks the text only as far as it reads it (after
// stage 1, which finds the structure and checks UTF-8 over the whole text).
// "simdjson-ondemand-walk" first visits every value (so that invalid JSON
// after the channel is refused, as the router refuses it), then rewinds for
// at_pointer: the least the router's semantics would cost with simdjson.
// The input must have SIMDJSON_PADDING readable bytes after it, so each
// message is copied into a padded buffer kept across messages, as the daemon
// would have to.
//
// Stage 1 runs in libsimdjson, which picks its kernel at run time (haswell,
// AVX2, here); the On-Demand code is inlined here with the kernel the
// compiler flags select (x86-64 baseline: "fallback"). Built with
// -march=haswell instead it counted the same instructions to 0.5 %.
#include <cstring>
#include <string>
#include <vector>

#include <simdjson.h>

#include "bench-router.h"

using namespace simdjson;

namespace
{
struct SimdState
{
  ondemand::parser parser;
  std::string pointer;
  std::vector<char> buffer;
};
} // namespace

// Every value below v, each read as its type (strings unescaped, numbers
// parsed), as deep as the router allows.
template <typename T>
static bool
walk (T &v, unsigned depth)
{
  ondemand::json_type type;

  if (depth > 2048 || v.type ().get (type))
    return false;
  switch (type)
    {
      case ondemand::json_type::object:
        {
          ondemand::object o;

          if (v.get_object ().get (o))
            return false;
          for (auto member : o)
            {
              ondemand::field f;
              std::string_view key;

              if (std::move (member).get (f) || f.unescaped_key ().get (key)
                  || !walk (f.value (), depth + 1))
                return false;
            }
          return true;
        }
      case ondemand::json_type::array:
        {
          ondemand::array a;

          if (v.get_array ().get (a))
            return false;
          for (auto element : a)
            {
              ondemand::value e;

              if (std::move (element).get (e) || !walk (e, depth + 1))
                return false;
            }
          return true;
        }
      case ondemand::json_type::string:
        {
          std::string_view s;
          return !v.get_string ().get (s);
        }
      case ondemand::json_type::number:
        {
          ondemand::number n;
          return !v.get_number ().get (n);
        }
      case ondemand::json_type::boolean:
        {
          bool b;
          return !v.get_bool ().get (b);
        }
      default:
        {
          bool null;
          return !v.is_null ().get (null) && null;
        }
    }
}

gpointer
bench_simdjson_setup (const char *pointer)
{
  SimdState *st = new SimdState;

  st->pointer = pointer;
  return st;
}

static char *
route (SimdState *st, const char *data, gsize len, bool walk_first)
{
  ondemand::document doc;
  ondemand::value v;
  ondemand::json_type type;

  if (st->buffer.size () < len + SIMDJSON_PADDING)
    st->buffer.resize (len + SIMDJSON_PADDING);
  std::memcpy (st->buffer.data (), data, len);
  if (st->parser.iterate (st->buffer.data (), len, st->buffer.size ()).get (doc))
    return nullptr;
  if (walk_first && !walk (doc, 1))
    return nullptr;
  if (doc.at_pointer (st->pointer).get (v) || v.type ().get (type))
    return nullptr;
  if (type == ondemand::json_type::string)
    {
      std::string_view s;

      if (v.get_string ().get (s))
        return nullptr;
      return bench_finish (s.data (), s.size (), FALSE, 0);
    }
  if (type == ondemand::json_type::number)
    {
      int64_t i;

      if (v.get_int64 ().get (i))
        return nullptr;
      return bench_finish (nullptr, 0, TRUE, i);
    }
  return nullptr;
}

char *
bench_simdjson_route (gpointer state, const char *data, gsize len)
{
  return route (static_cast<SimdState *> (state), data, len, false);
}

char *
bench_simdjson_walk_route (gpointer state, const char *data, gsize len)
{
  return route (static_cast<SimdState *> (state), data, len, true);
}

void
bench_simdjson_teardown (gpointer state)
{
  delete static_cast<SimdState *> (state);
}
