// TrainParams <-> JSON, shared by task files, plan files and model.json so that every file names
// parameters the same way (Lance's create_index names).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "ivftrain/params.h"
#include "ivftrain/status.h"

namespace ivftrain {

using ordered_json = nlohmann::ordered_json;

// Every parameter that shapes the model (num_threads is left out: it does not).
ordered_json params_to_json(const TrainParams& params);
// Parses what params_to_json wrote; `source` names the file in errors.
Result<TrainParams> params_from_json(const nlohmann::json& j, const std::string& source);

// Reads a required member of a JSON object with a clear error ("task-0001.json: 'worker' is
// missing or not an integer").
Result<int64_t> json_int(const nlohmann::json& j, const char* key, const std::string& source);
Result<std::string> json_string(const nlohmann::json& j, const char* key,
                                const std::string& source);
Result<double> json_number(const nlohmann::json& j, const char* key, const std::string& source);

// Parses JSON text; an error names `source`.
Result<nlohmann::json> parse_json(const std::string& text, const std::string& source);

// Checks that j is an object whose "format" is `format` and "format_version" is `version`.
Status check_json_format(const nlohmann::json& j, const char* format, int version,
                         const std::string& source);

}  // namespace ivftrain
