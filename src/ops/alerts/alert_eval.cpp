// The evaluator of alert expressions: a post-order walk of the typed tree,
// each node giving a number or an instant vector (range selectors are read
// directly by the functions that take them).

#include "ops/alerts/alert_eval.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>

namespace redge {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Labels kept for matching or grouping: `names` only (keep), or all but
// `names` (drop).
std::string labelKey(const Labels& labels, const std::vector<std::string>& names, bool keep) {
  Labels picked;
  for (const auto& kv : labels) {
    bool listed = std::find(names.begin(), names.end(), kv.first) != names.end();
    if (listed == keep) picked.push_back(kv);
  }
  return formatLabels(picked);
}

Labels filterLabels(const Labels& labels, const std::vector<std::string>& names, bool keep) {
  Labels out;
  for (const auto& kv : labels) {
    bool listed = std::find(names.begin(), names.end(), kv.first) != names.end();
    if (listed == keep) out.push_back(kv);
  }
  return out;
}

bool selects(const Expr& selector, const Labels& labels) {
  for (const LabelMatcher& m : selector.matchers) {
    if (!m.matches(labelValue(labels, m.name))) return false;
  }
  return true;
}

double applyArithmetic(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::Add:
      return a + b;
    case BinaryOp::Sub:
      return a - b;
    case BinaryOp::Mul:
      return a * b;
    case BinaryOp::Div:
      return a / b;
    default:
      return kNaN;
  }
}

bool compareValues(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::Eq:
      return a == b;
    case BinaryOp::Ne:
      return a != b;
    case BinaryOp::Gt:
      return a > b;
    case BinaryOp::Lt:
      return a < b;
    case BinaryOp::Ge:
      return a >= b;
    case BinaryOp::Le:
      return a <= b;
    default:
      return false;
  }
}

class Evaluator {
 public:
  Evaluator(const SampleHistory& history, int64_t now_ms) : history_(history), now_ms_(now_ms) {}

  std::string error;

  ExprValue eval(const Expr& e) {
    ExprValue out;
    if (!error.empty()) return out;
    switch (e.kind) {
      case ExprKind::Number:
        out.scalar = true;
        out.number = e.number;
        return out;
      case ExprKind::Selector:
        instantSelector(e, out.vector);
        return out;
      case ExprKind::Negate: {
        out = eval(*e.args[0]);
        if (out.scalar) out.number = -out.number;
        for (auto& el : out.vector) {
          el.value = -el.value;
          el.metric.clear();
        }
        return out;
      }
      case ExprKind::Call:
        return call(e);
      case ExprKind::Aggregate:
        return aggregate(e);
      case ExprKind::Binary:
        return binary(e);
    }
    return out;
  }

 private:
  const std::vector<const HistorySeries*>& matching(const Expr& sel) {
    if (sel.matched_history != &history_ || sel.matched_generation != history_.generation()) {
      sel.matched.clear();
      if (const auto* series = history_.find(sel.metric)) {
        for (const auto& s : *series) {
          if (selects(sel, s->labels)) sel.matched.push_back(s.get());
        }
      }
      sel.matched_history = &history_;
      sel.matched_generation = history_.generation();
    }
    return sel.matched;
  }

  void instantSelector(const Expr& e, std::vector<VectorElement>& out) {
    for (const HistorySeries* s : matching(e)) {
      if (s->ring.size() == 0) continue;
      const SampleRing::Point& p = s->ring.latest();
      if (p.t_ms > now_ms_) continue;
      out.push_back({e.metric, s->labels, p.value});
    }
  }

  ExprValue call(const Expr& e) {
    ExprValue out;
    switch (e.function) {
      case ExprFunction::HistogramQuantile: {
        ExprValue q = eval(*e.args[0]);
        ExprValue v = eval(*e.args[1]);
        histogramQuantile(q.number, v.vector, out.vector);
        return out;
      }
      case ExprFunction::Abs: {
        out = eval(*e.args[0]);
        for (auto& el : out.vector) {
          el.value = std::fabs(el.value);
          el.metric.clear();
        }
        return out;
      }
      default:
        break;
    }
    const Expr& sel = *e.args[0];
    const int64_t from = now_ms_ - sel.range_ms;
    const bool over_time = e.function != ExprFunction::Rate && e.function != ExprFunction::Increase;
    for (const HistorySeries* s : matching(sel)) {
      const SampleRing& ring = s->ring;
      // The window is (from, now]: found by binary search, the rings being
      // in time order.
      const size_t begin = ring.firstAfter(from);
      const size_t end = ring.firstAfter(now_ms_);
      if (begin >= end) continue;
      const size_t n = end - begin;
      const SampleRing::Point& p_first = ring.at(begin);
      const SampleRing::Point& p_last = ring.at(end - 1);
      double sum = 0, lo = p_first.value, hi = p_first.value;
      if (over_time) {
        for (size_t i = begin; i < end; ++i) {
          double v = ring.at(i).value;
          sum += v;
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
      }
      double v = 0;
      switch (e.function) {
        case ExprFunction::Rate:
        case ExprFunction::Increase: {
          if (n < 2 || p_last.t_ms == p_first.t_ms) continue;
          // A counter that went down was restarted: it counted from zero
          // (the rings keep that sum in `adjusted`).
          double increase = p_last.adjusted - p_first.adjusted;
          double rate = increase / (static_cast<double>(p_last.t_ms - p_first.t_ms) / 1000.0);
          v = e.function == ExprFunction::Rate ? rate
                                               : rate * static_cast<double>(sel.range_ms) / 1000.0;
          break;
        }
        case ExprFunction::AvgOverTime:
          if (n == 0) continue;
          v = sum / static_cast<double>(n);
          break;
        case ExprFunction::MaxOverTime:
          if (n == 0) continue;
          v = hi;
          break;
        case ExprFunction::MinOverTime:
          if (n == 0) continue;
          v = lo;
          break;
        default:
          continue;
      }
      out.vector.push_back({std::string(), s->labels, v});
    }
    return out;
  }

  static void histogramQuantile(double q, const std::vector<VectorElement>& in,
                                std::vector<VectorElement>& out) {
    struct Bucket {
      double upper;
      double count;
    };
    std::map<std::string, std::pair<Labels, std::vector<Bucket>>> groups;
    static const std::vector<std::string> kLe = {"le"};
    for (const VectorElement& el : in) {
      std::string_view le = labelValue(el.labels, "le");
      if (le.empty()) continue;
      double upper = 0;
      if (le == "+Inf") {
        upper = std::numeric_limits<double>::infinity();
      } else {
        char* end = nullptr;
        std::string text(le);
        upper = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0') continue;
      }
      auto& g = groups[labelKey(el.labels, kLe, false)];
      if (g.second.empty()) g.first = filterLabels(el.labels, kLe, false);
      g.second.push_back({upper, el.value});
    }
    for (auto& [key, g] : groups) {
      std::vector<Bucket>& b = g.second;
      std::sort(b.begin(), b.end(),
                [](const Bucket& x, const Bucket& y) { return x.upper < y.upper; });
      double v = kNaN;
      if (q < 0) {
        v = -std::numeric_limits<double>::infinity();
      } else if (q > 1) {
        v = std::numeric_limits<double>::infinity();
      } else if (b.size() >= 2 && std::isinf(b.back().upper)) {
        // Rates of cumulative counts taken at slightly different moments
        // can dip; a quantile needs them monotonic.
        for (size_t i = 1; i < b.size(); ++i) b[i].count = std::max(b[i].count, b[i - 1].count);
        double total = b.back().count;
        if (total > 0) {
          double rank = q * total;
          size_t i = 0;
          while (i < b.size() - 1 && b[i].count < rank) ++i;
          if (i == b.size() - 1) {
            v = b[b.size() - 2].upper;
          } else if (i == 0 && b[0].upper <= 0) {
            v = b[0].upper;
          } else {
            double start = i == 0 ? 0 : b[i - 1].upper;
            double below = i == 0 ? 0 : b[i - 1].count;
            double in_bucket = b[i].count - below;
            v = in_bucket > 0 ? start + (b[i].upper - start) * (rank - below) / in_bucket
                              : b[i].upper;
          }
        }
      }
      out.push_back({std::string(), std::move(g.first), v});
    }
  }

  ExprValue aggregate(const Expr& e) {
    ExprValue in = eval(*e.args[0]);
    ExprValue out;
    struct Group {
      Labels labels;
      double value = 0;
      size_t n = 0;
    };
    std::map<std::string, Group> groups;
    for (const VectorElement& el : in.vector) {
      // by (a): keep a; without (a): drop a; nothing: one group.
      std::string key = e.without || !e.grouping.empty()
                            ? labelKey(el.labels, e.grouping, !e.without)
                            : std::string();
      Group& g = groups[key];
      if (g.n == 0) {
        if (e.without || !e.grouping.empty())
          g.labels = filterLabels(el.labels, e.grouping, !e.without);
        g.value = el.value;
      } else {
        switch (e.aggregate) {
          case AggregateOp::Sum:
          case AggregateOp::Avg:
            g.value += el.value;
            break;
          case AggregateOp::Max:
            if (el.value > g.value || std::isnan(g.value)) g.value = el.value;
            break;
          case AggregateOp::Min:
            if (el.value < g.value || std::isnan(g.value)) g.value = el.value;
            break;
          case AggregateOp::Count:
            break;
        }
      }
      ++g.n;
    }
    for (auto& [key, g] : groups) {
      double v = g.value;
      if (e.aggregate == AggregateOp::Avg) v = g.value / static_cast<double>(g.n);
      if (e.aggregate == AggregateOp::Count) v = static_cast<double>(g.n);
      out.vector.push_back({std::string(), std::move(g.labels), v});
    }
    return out;
  }

  ExprValue binary(const Expr& e) {
    ExprValue l = eval(*e.args[0]);
    ExprValue r = eval(*e.args[1]);
    ExprValue out;
    if (!error.empty()) return out;
    const bool cmp = isComparison(e.op);
    if (l.scalar && r.scalar) {
      out.scalar = true;
      out.number = applyArithmetic(e.op, l.number, r.number);
      return out;
    }
    if (l.scalar || r.scalar) {
      std::vector<VectorElement>& v = l.scalar ? r.vector : l.vector;
      double k = l.scalar ? l.number : r.number;
      for (VectorElement& el : v) {
        double a = l.scalar ? k : el.value;
        double b = l.scalar ? el.value : k;
        if (cmp) {
          if (compareValues(e.op, a, b)) out.vector.push_back(std::move(el));
        } else {
          el.value = applyArithmetic(e.op, a, b);
          el.metric.clear();
          out.vector.push_back(std::move(el));
        }
      }
      return out;
    }
    const bool keep = e.on;
    const std::vector<std::string>& names = e.match_labels;
    if (isSetOperation(e.op)) {
      std::unordered_map<std::string, bool> right_keys;
      for (const VectorElement& el : r.vector) right_keys[labelKey(el.labels, names, keep)] = true;
      std::unordered_map<std::string, bool> left_keys;
      for (VectorElement& el : l.vector) {
        std::string key = labelKey(el.labels, names, keep);
        bool matched = right_keys.count(key) > 0;
        left_keys[key] = true;
        if (e.op == BinaryOp::Or || matched == (e.op == BinaryOp::And)) {
          out.vector.push_back(std::move(el));
        }
      }
      if (e.op == BinaryOp::Or) {
        for (VectorElement& el : r.vector) {
          if (!left_keys.count(labelKey(el.labels, names, keep)))
            out.vector.push_back(std::move(el));
        }
      }
      return out;
    }
    // One-to-one matching.
    std::unordered_map<std::string, const VectorElement*> right;
    for (const VectorElement& el : r.vector) {
      std::string key = labelKey(el.labels, names, keep);
      if (!right.emplace(std::move(key), &el).second) {
        error = "many-to-many matching: two elements on the right of '" +
                std::string(binaryOpText(e.op)) + "' have the labels " +
                labelKey(el.labels, names, keep) + "; aggregate or use on(...)";
        return out;
      }
    }
    std::unordered_map<std::string, bool> left_seen;
    for (VectorElement& el : l.vector) {
      std::string key = labelKey(el.labels, names, keep);
      auto it = right.find(key);
      if (it == right.end()) continue;
      if (!left_seen.emplace(key, true).second) {
        error = "many-to-many matching: two elements on the left of '" +
                std::string(binaryOpText(e.op)) + "' have the labels " + key +
                "; aggregate or use on(...)";
        return out;
      }
      double b = it->second->value;
      if (cmp) {
        if (!compareValues(e.op, el.value, b)) continue;
      } else {
        el.value = applyArithmetic(e.op, el.value, b);
        el.metric.clear();
      }
      // PromQL's one-to-one result: on() keeps only the matched labels,
      // ignoring() drops the ignored ones.
      if (e.on || e.ignoring) el.labels = filterLabels(el.labels, names, keep);
      out.vector.push_back(std::move(el));
    }
    return out;
  }

  const SampleHistory& history_;
  int64_t now_ms_;
};

}  // namespace

std::string_view labelValue(const Labels& labels, std::string_view name) {
  for (const auto& kv : labels) {
    if (kv.first == name) return kv.second;
  }
  return {};
}

EvalResult evaluateExpr(const Expr& expr, const SampleHistory& history, int64_t now_ms) {
  Evaluator ev(history, now_ms);
  EvalResult result;
  result.value = ev.eval(expr);
  result.error = std::move(ev.error);
  return result;
}

}  // namespace redge
