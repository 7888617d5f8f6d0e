// The expression parser of the alert rules: a tokenizer and a recursive
// descent over PromQL's precedence levels (comparisons, then + -, then * /,
// then unary minus), typing each node as it is built so a rule that cannot
// be evaluated is refused at start-up, with the column where it goes wrong.

#include "ops/alerts/alert_expr.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>

namespace redge {
namespace {

enum class Tok {
  End,
  Number,
  Ident,
  String,
  Duration,  // the text between [ and ], brackets included in the token
  LBrace,
  RBrace,
  LParen,
  RParen,
  Comma,
  Plus,
  Minus,
  Star,
  Slash,
  Assign,  // =
  EqEq,
  NotEq,
  Gt,
  Lt,
  Ge,
  Le,
  RegexEq,  // =~
  RegexNe,  // !~
  Bad,
};

struct Token {
  Tok kind = Tok::End;
  size_t pos = 0;
  std::string text;  // Ident, String (decoded), Duration (inside the brackets), Bad
  double number = 0;
};

bool isIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool isIdentChar(char c) {
  return isIdentStart(c) || std::isdigit(static_cast<unsigned char>(c));
}

class ExprParser {
 public:
  explicit ExprParser(std::string_view text) : text_(text) { advance(); }

  ExprParseResult run() {
    ExprParseResult result;
    std::unique_ptr<Expr> e = parseOr();
    if (e && error_.empty() && tok_.kind != Tok::End) {
      fail(tok_.pos, "unexpected " + describe(tok_) + " after a complete expression");
    }
    if (!error_.empty()) {
      result.error = error_;
      return result;
    }
    result.expr = std::move(e);
    return result;
  }

 private:
  // ------------------------------------------------------------ tokens

  void advance() { tok_ = lex(); }

  Token lex() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    Token t;
    t.pos = pos_;
    if (pos_ >= text_.size()) return t;
    char c = text_[pos_];
    auto two = [&](char next) { return pos_ + 1 < text_.size() && text_[pos_ + 1] == next; };
    auto single = [&](Tok k) {
      ++pos_;
      t.kind = k;
      return t;
    };
    auto pair = [&](Tok k) {
      pos_ += 2;
      t.kind = k;
      return t;
    };
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && pos_ + 1 < text_.size() &&
         std::isdigit(static_cast<unsigned char>(text_[pos_ + 1])))) {
      size_t end = pos_;
      while (end < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '.' ||
              ((text_[end] == '+' || text_[end] == '-') && end > pos_ &&
               (text_[end - 1] == 'e' || text_[end - 1] == 'E')))) {
        ++end;
      }
      std::string_view word = text_.substr(pos_, end - pos_);
      double v = 0;
      auto [ptr, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
      if (ec != std::errc() || ptr != word.data() + word.size()) {
        t.kind = Tok::Bad;
        t.text = std::string(word);
        return t;
      }
      pos_ = end;
      t.kind = Tok::Number;
      t.number = v;
      return t;
    }
    if (isIdentStart(c)) {
      size_t end = pos_;
      while (end < text_.size() && isIdentChar(text_[end])) ++end;
      t.kind = Tok::Ident;
      t.text = std::string(text_.substr(pos_, end - pos_));
      pos_ = end;
      return t;
    }
    if (c == '"' || c == '\'') return lexString(c);
    if (c == '[') {
      size_t end = text_.find(']', pos_);
      if (end == std::string_view::npos) {
        t.kind = Tok::Bad;
        t.text = "[";
        return t;
      }
      t.kind = Tok::Duration;
      t.text = std::string(text_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = end + 1;
      return t;
    }
    switch (c) {
      case '{':
        return single(Tok::LBrace);
      case '}':
        return single(Tok::RBrace);
      case '(':
        return single(Tok::LParen);
      case ')':
        return single(Tok::RParen);
      case ',':
        return single(Tok::Comma);
      case '+':
        return single(Tok::Plus);
      case '-':
        return single(Tok::Minus);
      case '*':
        return single(Tok::Star);
      case '/':
        return single(Tok::Slash);
      case '=':
        if (two('=')) return pair(Tok::EqEq);
        if (two('~')) return pair(Tok::RegexEq);
        return single(Tok::Assign);
      case '!':
        if (two('=')) return pair(Tok::NotEq);
        if (two('~')) return pair(Tok::RegexNe);
        break;
      case '>':
        if (two('=')) return pair(Tok::Ge);
        return single(Tok::Gt);
      case '<':
        if (two('=')) return pair(Tok::Le);
        return single(Tok::Lt);
      default:
        break;
    }
    t.kind = Tok::Bad;
    t.text = std::string(1, c);
    return t;
  }

  // PromQL strings take Go's escapes; here \\ \" \' \n \t are decoded and
  // any other backslash is kept, so a regular expression such as "\d+"
  // reads as written.
  Token lexString(char quote) {
    Token t;
    t.pos = pos_;
    size_t i = pos_ + 1;
    std::string out;
    while (i < text_.size() && text_[i] != quote) {
      char c = text_[i];
      if (c == '\\' && i + 1 < text_.size()) {
        char n = text_[i + 1];
        if (n == '\\' || n == '"' || n == '\'') {
          out.push_back(n);
        } else if (n == 'n') {
          out.push_back('\n');
        } else if (n == 't') {
          out.push_back('\t');
        } else {
          out.push_back('\\');
          out.push_back(n);
        }
        i += 2;
        continue;
      }
      out.push_back(c);
      ++i;
    }
    if (i >= text_.size()) {
      t.kind = Tok::Bad;
      t.text = "unterminated string";
      return t;
    }
    pos_ = i + 1;
    t.kind = Tok::String;
    t.text = std::move(out);
    return t;
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::End:
        return "end of expression";
      case Tok::Number:
        return "number";
      case Tok::Ident:
        return "'" + t.text + "'";
      case Tok::String:
        return "string \"" + t.text + "\"";
      case Tok::Duration:
        return "'[" + t.text + "]'";
      case Tok::Bad:
        return t.text == "unterminated string" ? t.text : "'" + t.text + "'";
      default:
        break;
    }
    static const char* const kText[] = {"",     "",    "",    "",     "",     "'{'",  "'}'", "'('",
                                        "')'",  "','", "'+'", "'-'",  "'*'",  "'/'",  "'='", "'=='",
                                        "'!='", "'>'", "'<'", "'>='", "'<='", "'=~'", "'!~'"};
    return kText[static_cast<int>(t.kind)];
  }

  // ------------------------------------------------------------ errors

  std::nullptr_t fail(size_t pos, const std::string& message) {
    if (error_.empty()) error_ = "column " + std::to_string(pos + 1) + ": " + message;
    return nullptr;
  }
  std::nullptr_t expected(const std::string& what) {
    return fail(tok_.pos, "expected " + what + ", found " + describe(tok_));
  }
  bool expect(Tok kind, const char* what) {
    if (tok_.kind != kind) {
      expected(what);
      return false;
    }
    advance();
    return true;
  }

  static std::string typeName(ExprType t) {
    switch (t) {
      case ExprType::Scalar:
        return "a number";
      case ExprType::Vector:
        return "an instant vector";
      case ExprType::Range:
        return "a range vector";
    }
    return "?";
  }

  // ------------------------------------------------------------ grammar

  std::optional<BinaryOp> comparisonOp() const {
    switch (tok_.kind) {
      case Tok::EqEq:
        return BinaryOp::Eq;
      case Tok::NotEq:
        return BinaryOp::Ne;
      case Tok::Gt:
        return BinaryOp::Gt;
      case Tok::Lt:
        return BinaryOp::Lt;
      case Tok::Ge:
        return BinaryOp::Ge;
      case Tok::Le:
        return BinaryOp::Le;
      default:
        return std::nullopt;
    }
  }

  bool atKeyword(const char* word) const { return tok_.kind == Tok::Ident && tok_.text == word; }

  std::unique_ptr<Expr> parseOr() {
    std::unique_ptr<Expr> left = parseAnd();
    while (left && atKeyword("or")) {
      left = parseBinaryRest(std::move(left), BinaryOp::Or, &ExprParser::parseAnd);
    }
    return left;
  }

  std::unique_ptr<Expr> parseAnd() {
    std::unique_ptr<Expr> left = parseComparison();
    while (left && (atKeyword("and") || atKeyword("unless"))) {
      BinaryOp op = atKeyword("and") ? BinaryOp::And : BinaryOp::Unless;
      left = parseBinaryRest(std::move(left), op, &ExprParser::parseComparison);
    }
    return left;
  }

  std::unique_ptr<Expr> parseComparison() {
    std::unique_ptr<Expr> left = parseAdditive();
    while (left) {
      std::optional<BinaryOp> op = comparisonOp();
      if (!op) break;
      left = parseBinaryRest(std::move(left), *op, &ExprParser::parseAdditive);
    }
    return left;
  }

  std::unique_ptr<Expr> parseAdditive() {
    std::unique_ptr<Expr> left = parseMultiplicative();
    while (left && (tok_.kind == Tok::Plus || tok_.kind == Tok::Minus)) {
      BinaryOp op = tok_.kind == Tok::Plus ? BinaryOp::Add : BinaryOp::Sub;
      left = parseBinaryRest(std::move(left), op, &ExprParser::parseMultiplicative);
    }
    return left;
  }

  std::unique_ptr<Expr> parseMultiplicative() {
    std::unique_ptr<Expr> left = parseUnary();
    while (left && (tok_.kind == Tok::Star || tok_.kind == Tok::Slash)) {
      BinaryOp op = tok_.kind == Tok::Star ? BinaryOp::Mul : BinaryOp::Div;
      left = parseBinaryRest(std::move(left), op, &ExprParser::parseUnary);
    }
    return left;
  }

  // At the operator: its modifiers, the right operand, the types.
  std::unique_ptr<Expr> parseBinaryRest(std::unique_ptr<Expr> left, BinaryOp op,
                                        std::unique_ptr<Expr> (ExprParser::*next)()) {
    size_t op_pos = tok_.pos;
    advance();
    auto node = std::make_unique<Expr>();
    node->kind = ExprKind::Binary;
    node->op = op;
    node->column = left->column;
    if (tok_.kind == Tok::Ident && tok_.text == "bool") {
      return fail(tok_.pos, "the 'bool' modifier is not supported; compare without it");
    }
    if (tok_.kind == Tok::Ident && (tok_.text == "on" || tok_.text == "ignoring")) {
      node->on = tok_.text == "on";
      node->ignoring = !node->on;
      advance();
      if (!parseLabelList(node->match_labels)) return nullptr;
      if (tok_.kind == Tok::Ident && (tok_.text == "group_left" || tok_.text == "group_right")) {
        return fail(tok_.pos, "'" + tok_.text +
                                  "' (many-to-one matching) is not supported; aggregate one side "
                                  "first so each element has one partner");
      }
    }
    std::unique_ptr<Expr> right = (this->*next)();
    if (!right) return nullptr;
    std::string sym(binaryOpText(op));
    for (const Expr* side : {left.get(), right.get()}) {
      if (side->type == ExprType::Range) {
        return fail(side->column - 1, "a range vector cannot be an operand of '" + sym +
                                          "'; wrap it in rate(), increase() or *_over_time()");
      }
    }
    bool any_vector = left->type == ExprType::Vector || right->type == ExprType::Vector;
    if (isSetOperation(op) &&
        !(left->type == ExprType::Vector && right->type == ExprType::Vector)) {
      return fail(op_pos, "'" + sym + "' needs a vector on both sides");
    }
    if (isComparison(op) && !any_vector) {
      return fail(op_pos, "'" + sym +
                              "' between two numbers is always true or always false; "
                              "compare a metric");
    }
    if ((node->on || node->ignoring) &&
        !(left->type == ExprType::Vector && right->type == ExprType::Vector)) {
      return fail(op_pos, "on() and ignoring() need a vector on both sides of '" + sym + "'");
    }
    node->type = any_vector ? ExprType::Vector : ExprType::Scalar;
    node->args.push_back(std::move(left));
    node->args.push_back(std::move(right));
    return node;
  }

  std::unique_ptr<Expr> parseUnary() {
    if (tok_.kind == Tok::Minus || tok_.kind == Tok::Plus) {
      bool minus = tok_.kind == Tok::Minus;
      size_t pos = tok_.pos;
      advance();
      std::unique_ptr<Expr> operand = parseUnary();
      if (!operand) return nullptr;
      if (!minus) return operand;
      if (operand->type == ExprType::Range) {
        return fail(pos, "a range vector cannot be negated; wrap it in a function first");
      }
      if (operand->kind == ExprKind::Number) {
        operand->number = -operand->number;
        operand->column = pos + 1;
        return operand;
      }
      auto node = std::make_unique<Expr>();
      node->kind = ExprKind::Negate;
      node->type = operand->type;
      node->column = pos + 1;
      node->args.push_back(std::move(operand));
      return node;
    }
    return parsePrimary();
  }

  std::unique_ptr<Expr> parsePrimary() {
    switch (tok_.kind) {
      case Tok::Number: {
        auto node = std::make_unique<Expr>();
        node->kind = ExprKind::Number;
        node->type = ExprType::Scalar;
        node->number = tok_.number;
        node->column = tok_.pos + 1;
        advance();
        return node;
      }
      case Tok::LParen: {
        advance();
        std::unique_ptr<Expr> inner = parseOr();
        if (!inner) return nullptr;
        if (!expect(Tok::RParen, "')'")) return nullptr;
        return inner;
      }
      case Tok::LBrace:
        return fail(tok_.pos, "a selector needs a metric name before '{'");
      case Tok::Ident:
        break;
      case Tok::Bad:
        if (tok_.text == "unterminated string") return fail(tok_.pos, "unterminated string");
        return fail(tok_.pos, "unexpected " + describe(tok_));
      default:
        return expected("a number, a metric, a function or '('");
    }
    const std::string name = tok_.text;
    if (std::optional<AggregateOp> agg = aggregateOf(name)) return parseAggregate(*agg);
    if (std::optional<ExprFunction> fn = functionOf(name)) return parseCall(*fn);
    if (name == "by" || name == "without" || name == "on" || name == "ignoring" || name == "bool" ||
        name == "and" || name == "or" || name == "unless" || name == "offset") {
      return fail(tok_.pos, "'" + name + "' is a keyword this subset does not take here");
    }
    return parseSelector();
  }

  static std::optional<AggregateOp> aggregateOf(const std::string& name) {
    if (name == "sum") return AggregateOp::Sum;
    if (name == "avg") return AggregateOp::Avg;
    if (name == "max") return AggregateOp::Max;
    if (name == "min") return AggregateOp::Min;
    if (name == "count") return AggregateOp::Count;
    return std::nullopt;
  }

  static std::optional<ExprFunction> functionOf(const std::string& name) {
    if (name == "rate") return ExprFunction::Rate;
    if (name == "increase") return ExprFunction::Increase;
    if (name == "avg_over_time") return ExprFunction::AvgOverTime;
    if (name == "max_over_time") return ExprFunction::MaxOverTime;
    if (name == "min_over_time") return ExprFunction::MinOverTime;
    if (name == "histogram_quantile") return ExprFunction::HistogramQuantile;
    if (name == "abs") return ExprFunction::Abs;
    return std::nullopt;
  }

  // `(a, b)` after by / without / on / ignoring.
  bool parseLabelList(std::vector<std::string>& out) {
    if (!expect(Tok::LParen, "'(' and a list of label names")) return false;
    while (tok_.kind == Tok::Ident) {
      out.push_back(tok_.text);
      advance();
      if (tok_.kind != Tok::Comma) break;
      advance();
    }
    return expect(Tok::RParen, "a label name or ')'");
  }

  bool parseGrouping(Expr& node) {
    if (tok_.kind == Tok::Ident && (tok_.text == "by" || tok_.text == "without")) {
      if (!node.grouping.empty() || node.without) {
        fail(tok_.pos, "the grouping is given twice");
        return false;
      }
      node.without = tok_.text == "without";
      advance();
      return parseLabelList(node.grouping);
    }
    return true;
  }

  std::unique_ptr<Expr> parseAggregate(AggregateOp op) {
    auto node = std::make_unique<Expr>();
    node->kind = ExprKind::Aggregate;
    node->aggregate = op;
    node->type = ExprType::Vector;
    node->column = tok_.pos + 1;
    std::string name = tok_.text;
    advance();
    if (!parseGrouping(*node)) return nullptr;
    if (!expect(Tok::LParen, ("'(' after " + name).c_str())) return nullptr;
    std::unique_ptr<Expr> arg = parseOr();
    if (!arg) return nullptr;
    if (arg->type != ExprType::Vector) {
      return fail(arg->column - 1, name + "() takes an instant vector, not " + typeName(arg->type));
    }
    if (tok_.kind == Tok::Comma) {
      return fail(tok_.pos, name + "() takes one argument");
    }
    if (!expect(Tok::RParen, ("')' to close " + name + "(").c_str())) return nullptr;
    if (!parseGrouping(*node)) return nullptr;
    node->args.push_back(std::move(arg));
    return node;
  }

  std::unique_ptr<Expr> parseCall(ExprFunction fn) {
    auto node = std::make_unique<Expr>();
    node->kind = ExprKind::Call;
    node->function = fn;
    node->type = ExprType::Vector;
    node->column = tok_.pos + 1;
    std::string name = tok_.text;
    advance();
    if (!expect(Tok::LParen, ("'(' after " + name).c_str())) return nullptr;
    std::vector<ExprType> want;
    switch (fn) {
      case ExprFunction::HistogramQuantile:
        want = {ExprType::Scalar, ExprType::Vector};
        break;
      case ExprFunction::Abs:
        want = {ExprType::Vector};
        break;
      default:
        want = {ExprType::Range};
        break;
    }
    for (size_t i = 0; i < want.size(); ++i) {
      if (i > 0 && !expect(Tok::Comma, ("',' and the next argument of " + name + "()").c_str())) {
        return nullptr;
      }
      std::unique_ptr<Expr> arg = parseOr();
      if (!arg) return nullptr;
      if (arg->type != want[i]) {
        std::string hint = want[i] == ExprType::Range ? " such as metric[1m]" : "";
        return fail(arg->column - 1, name + "() argument " + std::to_string(i + 1) + " must be " +
                                         typeName(want[i]) + hint + ", not " + typeName(arg->type));
      }
      node->args.push_back(std::move(arg));
    }
    if (!expect(Tok::RParen, ("')' to close " + name + "(").c_str())) return nullptr;
    return node;
  }

  std::unique_ptr<Expr> parseSelector() {
    auto node = std::make_unique<Expr>();
    node->kind = ExprKind::Selector;
    node->type = ExprType::Vector;
    node->column = tok_.pos + 1;
    node->metric = tok_.text;
    advance();
    if (tok_.kind == Tok::LParen) {
      return fail(node->column - 1,
                  "unknown function '" + node->metric +
                      "'; this subset has rate, increase, avg_over_time, max_over_time, "
                      "min_over_time, histogram_quantile, abs, sum, avg, max, min, count");
    }
    if (tok_.kind == Tok::LBrace) {
      advance();
      while (tok_.kind != Tok::RBrace) {
        if (tok_.kind != Tok::Ident) return expected("a label name or '}'");
        LabelMatcher m;
        m.name = tok_.text;
        size_t label_pos = tok_.pos;
        if (m.name == "__name__") {
          return fail(label_pos, "write the metric name before '{' instead of a __name__ matcher");
        }
        advance();
        switch (tok_.kind) {
          case Tok::Assign:
            m.op = MatchOp::Equal;
            break;
          case Tok::NotEq:
            m.op = MatchOp::NotEqual;
            break;
          case Tok::RegexEq:
            m.op = MatchOp::Regex;
            break;
          case Tok::RegexNe:
            m.op = MatchOp::NotRegex;
            break;
          default:
            return expected("one of = != =~ !~ after label '" + m.name + "'");
        }
        advance();
        if (tok_.kind != Tok::String) return expected("a quoted value for label '" + m.name + "'");
        m.value = tok_.text;
        if (m.op == MatchOp::Regex || m.op == MatchOp::NotRegex) {
          try {
            m.regex =
                std::make_shared<const std::regex>("^(?:" + m.value + ")$", std::regex::ECMAScript);
          } catch (const std::regex_error&) {
            return fail(tok_.pos, "invalid regular expression \"" + m.value + "\"");
          }
        }
        advance();
        node->matchers.push_back(std::move(m));
        if (tok_.kind == Tok::Comma) {
          advance();
          continue;
        }
        if (tok_.kind != Tok::RBrace) return expected("',' or '}'");
      }
      advance();
    }
    if (tok_.kind == Tok::Duration) {
      int64_t ms = parseDurationMs(tok_.text);
      if (ms <= 0) {
        return fail(tok_.pos, "'[" + tok_.text +
                                  "]' is not a window; write one such as [30s], "
                                  "[1m] or [1m30s]");
      }
      node->range_ms = ms;
      node->type = ExprType::Range;
      advance();
    }
    return node;
  }

  std::string_view text_;
  size_t pos_ = 0;
  Token tok_;
  std::string error_;
};

}  // namespace

bool LabelMatcher::matches(std::string_view label_value) const {
  switch (op) {
    case MatchOp::Equal:
      return label_value == value;
    case MatchOp::NotEqual:
      return label_value != value;
    case MatchOp::Regex:
      return std::regex_match(label_value.begin(), label_value.end(), *regex);
    case MatchOp::NotRegex:
      return !std::regex_match(label_value.begin(), label_value.end(), *regex);
  }
  return false;
}

bool isComparison(BinaryOp op) {
  switch (op) {
    case BinaryOp::Eq:
    case BinaryOp::Ne:
    case BinaryOp::Gt:
    case BinaryOp::Lt:
    case BinaryOp::Ge:
    case BinaryOp::Le:
      return true;
    default:
      return false;
  }
}

bool isSetOperation(BinaryOp op) {
  return op == BinaryOp::And || op == BinaryOp::Or || op == BinaryOp::Unless;
}

std::string_view binaryOpText(BinaryOp op) {
  switch (op) {
    case BinaryOp::And:
      return "and";
    case BinaryOp::Or:
      return "or";
    case BinaryOp::Unless:
      return "unless";
    case BinaryOp::Add:
      return "+";
    case BinaryOp::Sub:
      return "-";
    case BinaryOp::Mul:
      return "*";
    case BinaryOp::Div:
      return "/";
    case BinaryOp::Eq:
      return "==";
    case BinaryOp::Ne:
      return "!=";
    case BinaryOp::Gt:
      return ">";
    case BinaryOp::Lt:
      return "<";
    case BinaryOp::Ge:
      return ">=";
    case BinaryOp::Le:
      return "<=";
  }
  return "?";
}

ExprParseResult parseAlertExpr(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return {nullptr, "column 1: the expression is empty"};
  }
  return ExprParser(text).run();
}

void forEachSelector(const Expr& expr, const std::function<void(const Expr&)>& visit) {
  if (expr.kind == ExprKind::Selector) visit(expr);
  for (const auto& arg : expr.args) forEachSelector(*arg, visit);
}

int64_t parseDurationMs(std::string_view text) {
  if (text.empty()) return -1;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i] - '0');
      if (n > 1'000'000'000) return -1;
      ++i;
    }
    if (i == start) return -1;
    int64_t unit = 0;
    if (text.substr(i, 2) == "ms") {
      unit = 1;
      i += 2;
    } else if (i < text.size()) {
      switch (text[i]) {
        case 's':
          unit = 1000;
          break;
        case 'm':
          unit = 60'000;
          break;
        case 'h':
          unit = 3'600'000;
          break;
        case 'd':
          unit = 86'400'000;
          break;
        default:
          return -1;
      }
      ++i;
    } else {
      return -1;
    }
    total += n * unit;
  }
  return total;
}

}  // namespace redge
