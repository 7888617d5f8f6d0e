#pragma once
// The text of one /metrics answer for a group of worker processes, built from
// each worker's own exposition. Pure: strings in, a string out.
//
// Every worker renders its registry as usual; labelWorker() puts
// `worker="N"` first on each of its samples, and mergeExpositions() joins the
// workers' texts so that each family keeps one HELP and one TYPE line with
// the samples of every worker under it, as the Prometheus text format wants
// (a repeated TYPE line or a family split in two is refused by scrapers).

#include <string>
#include <string_view>
#include <vector>

namespace redge {

// `exposition` with `worker="<worker>"` added as the first label of every
// sample line; comment lines are kept as they are.
std::string labelWorker(std::string_view exposition, std::string_view worker);

// The families of all `parts`, in the order each first appears: its HELP and
// TYPE lines from the first part that has them, then its samples from every
// part in part order. A part may end without a newline.
std::string mergeExpositions(const std::vector<std::string_view>& parts);

}  // namespace redge
