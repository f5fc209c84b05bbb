#include "events/hydration.hpp"

#include "events/python/json_body.hpp"
#include "events/python/json_text.hpp"
#include "events/python/python_repr.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <variant>

namespace deployd::events {

namespace {

using events::json;

// Python's str(JSONDecodeError): "<msg>: line L column C (char P)".
std::string json_error_text(const std::string& text) {
  const auto e = python_json_error(text);
  if (!e)
    return "Expecting value: line 1 column 1 (char 0)";
  std::size_t line = 1;
  std::size_t column = 1;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size() && chars < e->position; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xc0) == 0x80)
      continue;
    ++chars;
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return e->message + ": line " + std::to_string(line) + " column " +
         std::to_string(column) + " (char " + std::to_string(e->position) + ")";
}

// -- a tiny Jinja expression evaluator
// ---------------------------------------------

using value = std::variant<std::int64_t, double, std::string>;

struct parser {
  std::string_view in;
  std::size_t pos = 0;
  std::string error;

  void skip() {
    while (pos < in.size() && (in[pos] == ' ' || in[pos] == '\t'))
      ++pos;
  }
  bool eat(std::string_view token) {
    skip();
    if (in.substr(pos, token.size()) == token) {
      pos += token.size();
      return true;
    }
    return false;
  }
  std::optional<value> fail(std::string message) {
    if (error.empty())
      error = std::move(message);
    return std::nullopt;
  }
  std::optional<value> too_big() {
    return fail("integer result does not fit 64 bits");
  }

  std::optional<value> atom() {
    skip();
    if (pos >= in.size())
      return fail("unexpected end of template");
    const char c = in[pos];
    if (c == '(') {
      ++pos;
      auto v = sum();
      if (!v || !eat(")"))
        return fail("unexpected end of template, expected ')'.");
      return v;
    }
    if (c == '-' || c == '+') {
      ++pos;
      auto v = power();
      if (!v)
        return v;
      if (c == '+')
        return v;
      if (auto* i = std::get_if<std::int64_t>(&*v))
        return *i == std::numeric_limits<std::int64_t>::min() ? too_big()
                                                              : value{-*i};
      if (auto* d = std::get_if<double>(&*v))
        return value{-*d};
      return fail("bad operand type for unary -: 'str'");
    }
    if (c == '\'' || c == '"') {
      const auto end = in.find(c, pos + 1);
      if (end == std::string_view::npos)
        return fail("unexpected char '" + std::string(1, c) + "'");
      std::string s(in.substr(pos + 1, end - pos - 1));
      pos = end + 1;
      return value{s};
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      std::size_t end = pos;
      bool is_float = false;
      while (end < in.size() &&
             (std::isdigit(static_cast<unsigned char>(in[end])) ||
              in[end] == '.' || in[end] == '_')) {
        is_float = is_float || in[end] == '.';
        ++end;
      }
      std::string digits;
      for (char d : in.substr(pos, end - pos))
        if (d != '_')
          digits.push_back(d);
      pos = end;
      if (is_float) // beyond double range: inf, as Python's float() gives
        return value{std::strtod(digits.c_str(), nullptr)};
      std::int64_t n = 0;
      const auto parsed =
          std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (parsed.ec != std::errc{})
        return fail("integer literal " + digits + " does not fit 64 bits");
      return value{n};
    }
    return fail("unsupported expression");
  }

  static std::optional<double> number(const value& v) {
    if (auto* i = std::get_if<std::int64_t>(&v))
      return static_cast<double>(*i);
    if (auto* d = std::get_if<double>(&v))
      return *d;
    return std::nullopt;
  }

  std::optional<value> arith(const value& a, const value& b,
                             std::string_view op) {
    if (op == "+" && std::holds_alternative<std::string>(a) &&
        std::holds_alternative<std::string>(b))
      return value{std::get<std::string>(a) + std::get<std::string>(b)};
    if (op == "~") {
      auto text = [](const value& v) {
        if (auto* s = std::get_if<std::string>(&v))
          return *s;
        if (auto* i = std::get_if<std::int64_t>(&v))
          return std::to_string(*i);
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", std::get<double>(v));
        return std::string(buf);
      };
      return value{text(a) + text(b)};
    }
    const auto x = number(a);
    const auto y = number(b);
    if (!x || !y)
      return fail("unsupported operand type(s) for " + std::string(op));
    const bool ints = std::holds_alternative<std::int64_t>(a) &&
                      std::holds_alternative<std::int64_t>(b);
    if (op == "/") {
      if (*y == 0)
        return fail("division by zero");
      return value{*x / *y};
    }
    if ((op == "//" || op == "%") && *y == 0)
      return fail("integer division or modulo by zero");
    if (ints) {
      const auto i = std::get<std::int64_t>(a);
      const auto j = std::get<std::int64_t>(b);
      // Python's ints do not overflow; a result beyond 64 bits is refused
      // rather than wrapped (or left undefined).
      std::int64_t r = 0;
      if (op == "+")
        return __builtin_add_overflow(i, j, &r) ? too_big() : value{r};
      if (op == "-")
        return __builtin_sub_overflow(i, j, &r) ? too_big() : value{r};
      if (op == "*")
        return __builtin_mul_overflow(i, j, &r) ? too_big() : value{r};
      if (op == "//")
        return value{static_cast<std::int64_t>(
            std::floor(static_cast<double>(i) / static_cast<double>(j)))};
      if (op == "%")
        return value{((i % j) + j) % j};
      if (op == "**" && j >= 0) {
        // Exact, by squaring; a squared base that overflows while exponent
        // bits remain would overflow the result too.
        std::int64_t result = 1;
        std::int64_t base = i;
        for (auto e = j; e > 0; e >>= 1) {
          if ((e & 1) != 0 && __builtin_mul_overflow(result, base, &result))
            return too_big();
          if (e > 1 && __builtin_mul_overflow(base, base, &base))
            return too_big();
        }
        return value{result};
      }
    }
    if (op == "+")
      return value{*x + *y};
    if (op == "-")
      return value{*x - *y};
    if (op == "*")
      return value{*x * *y};
    if (op == "//")
      return value{std::floor(*x / *y)};
    if (op == "%")
      return value{*x - *y * std::floor(*x / *y)};
    return value{std::pow(*x, *y)};
  }

  std::optional<value> power() {
    auto v = atom();
    if (v && eat("**")) {
      auto rhs = power();
      if (!rhs)
        return rhs;
      return arith(*v, *rhs, "**");
    }
    return v;
  }
  std::optional<value> product() {
    auto v = power();
    while (v) {
      std::string_view op;
      if (eat("//"))
        op = "//";
      else if (eat("*"))
        op = "*";
      else if (eat("/"))
        op = "/";
      else if (eat("%"))
        op = "%";
      else
        break;
      auto rhs = power();
      if (!rhs)
        return rhs;
      v = arith(*v, *rhs, op);
    }
    return v;
  }
  std::optional<value> sum() {
    auto v = product();
    while (v) {
      std::string_view op;
      if (eat("+"))
        op = "+";
      else if (eat("-"))
        op = "-";
      else if (eat("~"))
        op = "~";
      else
        break;
      auto rhs = product();
      if (!rhs)
        return rhs;
      v = arith(*v, *rhs, op);
    }
    return v;
  }
};

// Python's str() of a value, as Jinja renders it.
std::string render(const value& v) {
  if (auto* s = std::get_if<std::string>(&v))
    return *s;
  if (auto* i = std::get_if<std::int64_t>(&v))
    return std::to_string(*i);
  return events::python_float_repr(std::get<double>(v));
}

std::expected<json, std::string> hydrate(const json& v,
                                         const variable_lookup& variables);

std::expected<std::optional<json>, std::string>
hydrate_kind(const json& obj, const variable_lookup& variables) {
  const auto kind = obj.at("__prefect_kind");
  const std::string k = kind.is_string() ? kind.get<std::string>() : "";
  if (k == "json") {
    const auto it = obj.find("value");
    if (it == obj.end())
      return std::optional<json>{}; // removed from its parent
    if (!it->is_string())
      return std::optional<json>{*it};
    try {
      return std::optional<json>{events::parse_json(it->get<std::string>())};
    } catch (const events::integer_too_long&) {
      return std::unexpected(
          std::string("Invalid JSON: Exceeds the limit (4300 digits) for "
                      "integer string conversion"));
    } catch (const json::exception&) {
      return std::unexpected("Invalid JSON: " +
                             json_error_text(it->get<std::string>()));
    }
  }
  if (k == "jinja") {
    const auto it = obj.find("template");
    if (it == obj.end() || !it->is_string())
      return std::unexpected(
          std::string("Missing 'template' key in __prefect object"));
    auto rendered = render_jinja(it->get<std::string>());
    if (!rendered)
      return std::unexpected("Invalid jinja: " + rendered.error());
    return std::optional<json>{json(*rendered)};
  }
  if (k == "workspace_variable") {
    const auto it = obj.find("variable_name");
    if (it == obj.end())
      return std::optional<json>{};
    // A name that is not a string can never match a variable (names are
    // strings); the message shows it as Python's f-string would.
    const std::string name =
        it->is_string() ? it->get<std::string>() : events::python_repr(*it);
    if (it->is_string() && variables)
      if (auto stored = variables(name))
        return std::optional<json>{std::move(*stored)};
    return std::unexpected("Variable '" + name + "' not found in workspace.");
  }
  if (k == "none") {
    const auto it = obj.find("value");
    if (it == obj.end())
      return std::unexpected(
          std::string("Missing 'value' key in __prefect object"));
    auto inner = hydrate(*it, variables);
    if (!inner)
      return std::unexpected(inner.error());
    return std::optional<json>{std::move(*inner)};
  }
  const auto it = obj.find("value");
  return std::optional<json>{it == obj.end() ? json(nullptr) : *it};
}

std::expected<json, std::string> hydrate(const json& v,
                                         const variable_lookup& variables) {
  if (v.is_object()) {
    json out = json::object();
    for (const auto& [key, child] : v.items()) {
      if (child.is_object() && child.contains("__prefect_kind")) {
        auto replaced = hydrate_kind(child, variables);
        if (!replaced)
          return std::unexpected(replaced.error());
        if (*replaced)
          out[key] = std::move(**replaced);
        continue;
      }
      auto h = hydrate(child, variables);
      if (!h)
        return h;
      out[key] = std::move(*h);
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& child : v) {
      if (child.is_object() && child.contains("__prefect_kind")) {
        auto replaced = hydrate_kind(child, variables);
        if (!replaced)
          return std::unexpected(replaced.error());
        if (*replaced)
          out.push_back(std::move(**replaced));
        continue;
      }
      auto h = hydrate(child, variables);
      if (!h)
        return h;
      out.push_back(std::move(*h));
    }
    return out;
  }
  return v;
}

} // namespace

std::expected<std::string, std::string> render_jinja(const std::string& text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto open = text.find("{{", pos);
    const auto block = text.find("{%", pos);
    if (block != std::string::npos &&
        (open == std::string::npos || block < open))
      return std::unexpected(std::string("statements are not supported"));
    if (open == std::string::npos) {
      out.append(text, pos);
      break;
    }
    out.append(text, pos, open - pos);
    const auto close = text.find("}}", open + 2);
    if (close == std::string::npos)
      return std::unexpected(
          std::string("unexpected end of template, expected 'end of print "
                      "statement'."));
    parser p;
    p.in = std::string_view(text).substr(open + 2, close - open - 2);
    auto v = p.sum();
    p.skip();
    if (!v || p.pos != p.in.size())
      return std::unexpected(p.error.empty() ? std::string("unexpected token")
                                             : p.error);
    out += render(*v);
    pos = close + 2;
  }
  return out;
}

std::expected<json, std::string>
hydrate_parameters(const json& parameters, const variable_lookup& variables) {
  return hydrate(parameters, variables);
}

} // namespace deployd::events
