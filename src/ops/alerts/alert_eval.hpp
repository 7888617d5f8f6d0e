#pragma once
// Evaluates a parsed alert expression against the sample history at one
// instant. Pure: the history and the time are given.
//
// Semantics follow PromQL where the subset overlaps:
// - an instant selector gives each matching series' latest sample;
// - rate(x[w]) is the increase between the first and the last sample inside
//   (now - w, now], counter resets counted as restarts from zero, divided by
//   the seconds between those two samples (no extrapolation to the window's
//   edges); increase(x[w]) is rate(x[w]) * w. Fewer than two samples: no
//   element. A counter born inside the window was 0 at the samples before
//   (sample_history.hpp), so its rate spans what its peers' rates span;
// - functions, arithmetic and aggregations drop the metric name;
// - a comparison keeps the elements for which it holds, with the left
//   operand's value (a number on the left: the vector's value);
// - vector-vector operations match elements one-to-one on all labels, or on
//   the on(...) labels, or on all but the ignoring(...) ones; an element
//   with no partner is dropped; two elements on one side with the same
//   match labels are an error (many-to-many);
// - histogram_quantile interpolates linearly inside the bucket the rank
//   falls in, as Prometheus does; buckets without +Inf give NaN.
// NaN compares false, so 0/0 (no traffic) never fires a ratio rule.

#include <cstdint>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "ops/alerts/alert_expr.hpp"
#include "ops/alerts/sample_history.hpp"

namespace redge {

struct VectorElement {
  std::string metric;  // empty once dropped
  Labels labels;       // sorted by name
  double value = 0;
};

struct ExprValue {
  bool scalar = false;
  double number = 0;
  std::vector<VectorElement> vector;
};

struct EvalResult {
  ExprValue value;
  std::string error;  // non-empty: the evaluation failed (many-to-many)
};

EvalResult evaluateExpr(const Expr& expr, const SampleHistory& history, int64_t now_ms);

// The value of `name` in sorted labels, "" when absent.
std::string_view labelValue(const Labels& labels, std::string_view name);

}  // namespace redge
