// A minimal JSON reader for the benchmark shapes file (bench/shapes.json): objects, arrays,
// strings (with the standard escapes; \u escapes outside ASCII are kept as '?'), numbers, true,
// false and null. Enough for small configuration files, not a general-purpose library: it keeps
// the whole tree in memory and reports only the first error, with its byte offset.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "upconv/status.hpp"

namespace upconv::bench {

class JsonValue;
using JsonArray = std::vector<JsonValue>;
using JsonObject = std::map<std::string, JsonValue, std::less<>>;

/// One parsed JSON value. A plain tagged struct rather than std::variant: simpler, and free of
/// GCC 12's false -Wmaybe-uninitialized on recursive variants.
class JsonValue {
 public:
  enum class Kind { null, boolean, number, string, array, object };

  JsonValue() = default;
  static JsonValue make_bool(bool b) { JsonValue v; v.kind_ = Kind::boolean; v.number_ = b ? 1 : 0; return v; }
  static JsonValue make_number(double d) { JsonValue v; v.kind_ = Kind::number; v.number_ = d; return v; }
  static JsonValue make_string(std::string s) { JsonValue v; v.kind_ = Kind::string; v.string_ = std::move(s); return v; }
  static JsonValue make_array(JsonArray a);
  static JsonValue make_object(JsonObject o);

  Kind kind() const { return kind_; }
  bool is_number() const { return kind_ == Kind::number; }
  bool is_string() const { return kind_ == Kind::string; }
  bool is_array() const { return kind_ == Kind::array; }
  bool is_object() const { return kind_ == Kind::object; }

  /// Accessors; meaningful only for the matching kind (empty / 0 otherwise).
  double number() const { return number_; }
  const std::string& string() const { return string_; }
  const JsonArray& array() const { return *array_; }
  const JsonObject& object() const { return *object_; }

  /// Member `key` of an object, or nullptr when absent or this is not an object.
  const JsonValue* find(std::string_view key) const;

 private:
  Kind kind_ = Kind::null;
  double number_ = 0;
  std::string string_;
  // Shared (immutable after parsing) so JsonValue stays cheap to copy.
  std::shared_ptr<const JsonArray> array_;
  std::shared_ptr<const JsonObject> object_;
};

/// Parses `text`; `source` names it in error messages (typically the file path).
Result<JsonValue> parse_json(std::string_view text, const std::string& source);

}  // namespace upconv::bench
