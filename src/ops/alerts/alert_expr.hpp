#pragma once
// The alert rules' expression language: a small subset of PromQL's syntax
// over redge's own metrics, parsed once at start-up into a typed tree. Pure:
// no I/O, no clock.
//
// The subset (README "Alerts" lists it with examples):
//   number          0.8   1e9   -3
//   selector        name   name{label="v", other!="x", status=~"5..", route!~"/ad.*"}
//   range           name{...}[30s]   (ms, s, m, h, d; combined: 1m30s)
//   functions       rate(r)  increase(r)  avg_over_time(r)  max_over_time(r)
//                   min_over_time(r)  histogram_quantile(q, v)  abs(v)
//   aggregations    sum  avg  max  min  count, with `by (a, b)` or
//                   `without (a)` before or after the parentheses
//   arithmetic      + - * /   (unary minus too)
//   comparisons     > < >= <= == !=   (filter: the elements that hold stay)
//   vector matching v1 / on(a) v2,  v1 > ignoring(pool) v2   (one-to-one)
//   set operations  v1 and v2  (v1's elements that have a match in v2),
//                   v1 unless v2  (those that have none),  v1 or v2  (v1,
//                   then v2's elements v1 has no match for)
// Precedence, loosest first: or, and/unless, comparisons, + -, * /, unary
// minus.
// Regular expressions are ECMAScript, anchored at both ends as PromQL's are.
//
// Every node carries its type (scalar, instant vector, range vector); the
// parser refuses an expression whose types do not fit (rate of an instant
// vector, a range vector compared with a number) with the column and a
// sentence saying what was expected.

#include <cstdint>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace redge {

struct HistorySeries;

enum class ExprType { Scalar, Vector, Range };

enum class MatchOp { Equal, NotEqual, Regex, NotRegex };

struct LabelMatcher {
  std::string name;
  MatchOp op = MatchOp::Equal;
  std::string value;
  std::shared_ptr<const std::regex> regex;  // Regex and NotRegex
  // A label the series does not have matches as the empty string (PromQL).
  bool matches(std::string_view label_value) const;
};

enum class ExprKind { Number, Selector, Call, Aggregate, Binary, Negate };

enum class ExprFunction {
  Rate,
  Increase,
  AvgOverTime,
  MaxOverTime,
  MinOverTime,
  HistogramQuantile,
  Abs
};

enum class AggregateOp { Sum, Avg, Max, Min, Count };

enum class BinaryOp { Add, Sub, Mul, Div, Eq, Ne, Gt, Lt, Ge, Le, And, Or, Unless };

// and, or, unless: set operations on label sets.
bool isSetOperation(BinaryOp op);

bool isComparison(BinaryOp op);
std::string_view binaryOpText(BinaryOp op);

struct Expr {
  ExprKind kind = ExprKind::Number;
  ExprType type = ExprType::Scalar;
  size_t column = 1;  // where the node starts, 1-based, for messages

  double number = 0;  // Number

  std::string metric;  // Selector: the metric name
  std::vector<LabelMatcher> matchers;
  int64_t range_ms = 0;  // Selector with [window]: a range vector
  // Selector: the series it matched, kept by the evaluator while the
  // history's generation stays the same (matching regular expressions
  // against every series on every evaluation would cost more than the rest).
  mutable std::vector<const HistorySeries*> matched;
  mutable uint64_t matched_generation = ~uint64_t{0};
  mutable const void* matched_history = nullptr;

  ExprFunction function = ExprFunction::Rate;  // Call
  AggregateOp aggregate = AggregateOp::Sum;    // Aggregate
  bool without = false;                        // Aggregate: `without` rather than `by`
  std::vector<std::string> grouping;           // Aggregate

  BinaryOp op = BinaryOp::Add;  // Binary
  bool on = false;              // Binary: on(...) given
  bool ignoring = false;        // Binary: ignoring(...) given
  std::vector<std::string> match_labels;

  std::vector<std::unique_ptr<Expr>> args;  // Call, Aggregate (one), Binary (two), Negate (one)
};

struct ExprParseResult {
  std::unique_ptr<Expr> expr;  // null on error
  std::string error;           // "column 7: expected ..."
};

ExprParseResult parseAlertExpr(std::string_view text);

// Calls `visit` for every selector in the tree (to learn which metrics to
// keep and how far back).
void forEachSelector(const Expr& expr, const std::function<void(const Expr&)>& visit);

// "1m30s" -> 90000; -1 when the text is not a duration.
int64_t parseDurationMs(std::string_view text);

}  // namespace redge
