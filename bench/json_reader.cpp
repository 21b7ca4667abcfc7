#include "bench/json_reader.hpp"

#include <cctype>
#include <cstdlib>
#include <string>

namespace upconv::bench {

JsonValue JsonValue::make_array(JsonArray a) {
  JsonValue v;
  v.kind_ = Kind::array;
  v.array_ = std::make_shared<const JsonArray>(std::move(a));
  return v;
}

JsonValue JsonValue::make_object(JsonObject o) {
  JsonValue v;
  v.kind_ = Kind::object;
  v.object_ = std::make_shared<const JsonObject>(std::move(o));
  return v;
}

const JsonValue* JsonValue::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  const auto& members = object();
  const auto it = members.find(key);
  return it == members.end() ? nullptr : &it->second;
}

namespace {

// Recursive descent over the text; nesting depth is bounded so a hostile file cannot overflow
// the stack.
class Parser {
 public:
  Parser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  Result<JsonValue> parse_document() {
    JsonValue value;
    UPCONV_RETURN_IF_ERROR(parse_value(value, 0));
    skip_space();
    if (pos_ != text_.size()) return error("unexpected text after the JSON value");
    return value;
  }

 private:
  static constexpr int kMaxDepth = 64;

  Status error(const std::string& what) const {
    return invalid_argument(source_ + ": invalid JSON at byte " + std::to_string(pos_) + ": " + what);
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool consume_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Status parse_value(JsonValue& out, int depth) {
    if (depth > kMaxDepth) return error("nesting deeper than " + std::to_string(kMaxDepth));
    skip_space();
    if (pos_ >= text_.size()) return error("unexpected end of text");
    const char c = text_[pos_];
    if (c == '{') return parse_object(out, depth);
    if (c == '[') return parse_array(out, depth);
    if (c == '"') {
      std::string s;
      UPCONV_RETURN_IF_ERROR(parse_string(s));
      out = JsonValue::make_string(std::move(s));
      return {};
    }
    if (consume_word("true")) {
      out = JsonValue::make_bool(true);
      return {};
    }
    if (consume_word("false")) {
      out = JsonValue::make_bool(false);
      return {};
    }
    if (consume_word("null")) {
      out = JsonValue();
      return {};
    }
    return parse_number(out);
  }

  Status parse_object(JsonValue& out, int depth) {
    ++pos_;  // '{'
    JsonObject members;
    if (!consume('}')) {
      do {
        skip_space();
        std::string key;
        UPCONV_RETURN_IF_ERROR(parse_string(key));
        if (!consume(':')) return error("expected ':' after key \"" + key + "\"");
        JsonValue value;
        UPCONV_RETURN_IF_ERROR(parse_value(value, depth + 1));
        members.insert_or_assign(std::move(key), std::move(value));
      } while (consume(','));
      if (!consume('}')) return error("expected ',' or '}' in an object");
    }
    out = JsonValue::make_object(std::move(members));
    return {};
  }

  Status parse_array(JsonValue& out, int depth) {
    ++pos_;  // '['
    JsonArray items;
    if (!consume(']')) {
      do {
        JsonValue value;
        UPCONV_RETURN_IF_ERROR(parse_value(value, depth + 1));
        items.push_back(std::move(value));
      } while (consume(','));
      if (!consume(']')) return error("expected ',' or ']' in an array");
    }
    out = JsonValue::make_array(std::move(items));
    return {};
  }

  Status parse_string(std::string& out) {
    if (pos_ >= text_.size() || text_[pos_] != '"') return error("expected a string");
    ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\') {
        if (pos_ >= text_.size()) break;
        const char e = text_[pos_++];
        switch (e) {
          case 'n': c = '\n'; break;
          case 't': c = '\t'; break;
          case 'r': c = '\r'; break;
          case 'b': c = '\b'; break;
          case 'f': c = '\f'; break;
          case 'u': {
            if (pos_ + 4 > text_.size()) return error("truncated \\u escape");
            const long code = std::strtol(std::string(text_.substr(pos_, 4)).c_str(), nullptr, 16);
            pos_ += 4;
            c = code < 0x80 ? static_cast<char>(code) : '?';
            break;
          }
          default: c = e;  // '"', '\\', '/'
        }
      }
      out.push_back(c);
    }
    if (pos_ >= text_.size()) return error("unterminated string");
    ++pos_;  // closing '"'
    return {};
  }

  Status parse_number(JsonValue& out) {
    const size_t start = pos_;
    while (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])) ||
                                   std::string_view("+-.eE").find(text_[pos_]) != std::string_view::npos))
      ++pos_;
    if (start == pos_) return error(std::string("unexpected character '") + text_[pos_] + "'");
    const std::string token(text_.substr(start, pos_ - start));
    char* end = nullptr;
    const double v = std::strtod(token.c_str(), &end);
    if (end != token.c_str() + token.size()) return error("malformed number '" + token + "'");
    out = JsonValue::make_number(v);
    return {};
  }

  std::string_view text_;
  const std::string& source_;
  size_t pos_ = 0;
};

}  // namespace

Result<JsonValue> parse_json(std::string_view text, const std::string& source) {
  return Parser(text, source).parse_document();
}

}  // namespace upconv::bench
