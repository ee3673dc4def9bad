#include "oci/spec/json.h"

#include <unistd.h>

#include <cstdio>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace peapod::json {
namespace {

using ::testing::HasSubstr;

TEST(JsonParse, Scalars) {
  absl::StatusOr<Value> v = Parse(R"([null, true, false, 0, -1, 1.5, "x", {}, []])");
  ASSERT_TRUE(v.ok()) << v.status();
  const Array& a = v->as_array();
  ASSERT_EQ(a.size(), 9u);
  EXPECT_EQ(a[0].type(), Type::kNull);
  EXPECT_TRUE(a[1].as_bool());
  EXPECT_FALSE(a[2].as_bool());
  EXPECT_EQ(a[3].type(), Type::kUint);
  EXPECT_EQ(a[4].type(), Type::kInt);
  EXPECT_EQ(a[4].raw_int(), -1);
  EXPECT_EQ(a[5].type(), Type::kDouble);
  EXPECT_DOUBLE_EQ(a[5].raw_double(), 1.5);
  EXPECT_EQ(a[6].as_string(), "x");
  EXPECT_TRUE(a[7].is_object());
  EXPECT_TRUE(a[8].is_array());
}

TEST(JsonParse, IntegerExtremesStayExact) {
  absl::StatusOr<Value> v = Parse(R"({"max": 18446744073709551615, "min": -9223372036854775808})");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->Find("max")->raw_uint(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(v->Find("min")->raw_int(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(Write(*v), R"({"max":18446744073709551615,"min":-9223372036854775808})");
}

TEST(JsonParse, IntegerBeyond64BitsBecomesDouble) {
  absl::StatusOr<Value> v = Parse("18446744073709551616");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->type(), Type::kDouble);
  Reader r(*v, "$");
  absl::StatusOr<uint64_t> u = r.Uint64();
  EXPECT_FALSE(u.ok());
}

TEST(JsonParse, DuplicateKeyIsError) {
  absl::StatusOr<Value> v = Parse("{\"a\": 1,\n \"a\": 2}");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(v.status().message(), HasSubstr("duplicate key \"a\""));
  EXPECT_THAT(v.status().message(), HasSubstr("line 2"));
}

TEST(JsonParse, SameKeyInDifferentObjectsIsFine) {
  EXPECT_TRUE(Parse(R"({"a": {"a": 1}, "b": {"a": 2}})").ok());
}

TEST(JsonParse, MalformedSaysWhere) {
  absl::StatusOr<Value> v = Parse("{\n  \"a\": [1, 2,,]\n}");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("line 2"));
  EXPECT_THAT(v.status().message(), HasSubstr("column"));
}

TEST(JsonParse, TruncatedAndEmptyAndTrailing) {
  EXPECT_FALSE(Parse(R"({"a": )").ok());
  EXPECT_FALSE(Parse("").ok());
  EXPECT_FALSE(Parse("   ").ok());
  EXPECT_FALSE(Parse("{} {}").ok());
  EXPECT_FALSE(Parse("[1] x").ok());
  EXPECT_FALSE(Parse("\"\xff\"").ok());  // invalid UTF-8
}

TEST(JsonParse, DeepNestingIsRejected) {
  std::string deep(2000, '[');
  deep += std::string(2000, ']');
  absl::StatusOr<Value> v = Parse(deep);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("nesting"));
}

TEST(JsonWrite, EscapesAndRoundTrips) {
  Value v(Object{});
  v.Set("s", "quote\" back\\ nl\n tab\t ctl\x01 é");
  v.Set("d", 0.1);
  v.Set("whole", 2.0);
  v.Set("neg", -5);
  v.Set("arr", Array{Value(), true, "x"});
  std::string text = Write(v);
  absl::StatusOr<Value> back = Parse(text);
  ASSERT_TRUE(back.ok()) << back.status() << " in " << text;
  EXPECT_EQ(*back, v);
  EXPECT_EQ(back->Find("whole")->type(), Type::kDouble);
  EXPECT_THAT(text, HasSubstr("\\n"));
  EXPECT_THAT(text, HasSubstr("\\\""));
  std::string pretty = Write(v, true);
  EXPECT_THAT(pretty, HasSubstr("\n"));
  EXPECT_EQ(*Parse(pretty), v);
}

TEST(JsonParse, UnicodeEscapes) {
  absl::StatusOr<Value> v = Parse(R"(["\u00e9", "\ud83d\ude00", "a\u0000b", "\/"])");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->as_array()[0].as_string(), "\xc3\xa9");
  EXPECT_EQ(v->as_array()[1].as_string(), "\xf0\x9f\x98\x80");
  EXPECT_EQ(v->as_array()[2].as_string(), std::string("a\0b", 3));
  EXPECT_EQ(v->as_array()[3].as_string(), "/");
  EXPECT_EQ(*Parse(Write(*v)), *v);
}

TEST(JsonWrite, InvalidUtf8BecomesReplacementCharacter) {
  Value v(Array{Value(std::string("a\xff"
                                  "b")),
                Value(std::string("\xed\xa0\x80")), Value(std::string("ok \xc3\xa9"))});
  std::string text = Write(v);
  absl::StatusOr<Value> back = Parse(text);
  ASSERT_TRUE(back.ok()) << back.status() << " in " << text;
  EXPECT_EQ(back->as_array()[0].as_string(),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(back->as_array()[1].as_string(), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(back->as_array()[2].as_string(), "ok \xc3\xa9");
}

// yajl lets overlong forms through (0xC1 0x9D for ']'); they read as U+FFFD,
// in keys too, so what is read writes back unchanged (found by
// oci_json_fuzz: the key came back different after Write).
TEST(JsonParse, InvalidUtf8ReadsAsReplacementCharacter) {
  absl::StatusOr<Value> v = Parse(
      "{\"\xc1\x9dk\": [\"a\xc0\xaf"
      "b\", \"\xc3\xa9\"]}");
  ASSERT_TRUE(v.ok()) << v.status();
  const Value* list = v->Find("\xef\xbf\xbd\xef\xbf\xbdk");
  ASSERT_NE(list, nullptr) << Write(*v);
  EXPECT_EQ(list->as_array()[0].as_string(),
            "a\xef\xbf\xbd\xef\xbf\xbd"
            "b");
  EXPECT_EQ(list->as_array()[1].as_string(), "\xc3\xa9");
  EXPECT_EQ(*Parse(Write(*v)), *v);
}

TEST(JsonValue, SetReplacesAndKeepsOrder) {
  Value v(Object{});
  v.Set("b", 1);
  v.Set("a", 2);
  v.Set("b", 3);
  EXPECT_EQ(Write(v), R"({"b":3,"a":2})");
  EXPECT_EQ(v.Find("zz"), nullptr);
  EXPECT_EQ(Value(5), Value(uint64_t{5}));
  EXPECT_FALSE(Value(-5) == Value(uint64_t{5}));
}

TEST(JsonReader, TypedErrorsNameThePath) {
  absl::StatusOr<Value> v = Parse(R"({"user": {"uid": "root", "gid": -1, "n": 4294967296}})");
  ASSERT_TRUE(v.ok());
  Reader root(*v, "$");
  absl::StatusOr<Reader> user = root.Require("user");
  ASSERT_TRUE(user.ok());
  absl::StatusOr<uint32_t> uid = user->Require("uid")->Uint32();
  ASSERT_FALSE(uid.ok());
  EXPECT_EQ(uid.status().message(), "$.user.uid: expected unsigned 32-bit integer, got string");
  EXPECT_THAT(user->Get("gid")->Uint32().status().message(), HasSubstr("$.user.gid"));
  EXPECT_EQ(*user->Get("gid")->Int32(), -1);
  EXPECT_FALSE(user->Get("n")->Uint32().ok());
  EXPECT_EQ(*user->Get("n")->Uint64(), 4294967296u);
  absl::StatusOr<Reader> missing = user->Require("home");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "$.user.home: required member missing");
}

TEST(JsonReader, NullIsAbsent) {
  absl::StatusOr<Value> v = Parse(R"({"a": null})");
  Reader r(*v, "$");
  EXPECT_FALSE(r.Get("a").has_value());
  EXPECT_FALSE(r.Require("a").ok());
}

TEST(JsonReader, ArraysAndMaps) {
  absl::StatusOr<Value> v = Parse(R"({"l": ["a", 1], "m": {"k": "v"}, "ok": ["x"]})");
  Reader r(*v, "$");
  absl::StatusOr<std::vector<std::string>> l = r.Get("l")->StringArray();
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(l.status().message(), HasSubstr("$.l[1]: expected string, got integer 1"));
  EXPECT_EQ(*r.Get("ok")->StringArray(), std::vector<std::string>{"x"});
  auto m = r.Get("m")->StringMap();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->at("k"), "v");
  EXPECT_FALSE(r.Get("m")->Elements().ok());
  EXPECT_FALSE(r.Get("l")->Members().ok());
  EXPECT_THAT(r.Get("m")->ExpectArray().message(), HasSubstr("expected array, got object"));
}

TEST(JsonParseFile, ReadsAndLimitsSize) {
  char path[] = "/tmp/peapod_json_test_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = R"({"k": [1, 2, 3]})";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  absl::StatusOr<Value> v = ParseFile(path);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->Find("k")->as_array().size(), 3u);
  absl::StatusOr<Value> small = ParseFile(path, 4);
  EXPECT_FALSE(small.ok());
  unlink(path);
  absl::StatusOr<Value> gone = ParseFile(path);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace peapod::json
