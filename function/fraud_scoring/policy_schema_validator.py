# Generated from policy.schema.json by `make policy-schema` (fastjsonschema.compile_to_code); do not edit.
# mypy: ignore-errors
VERSION = "2.22.3"
from decimal import Decimal
import re
from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException


REGEX_PATTERNS = {
    '^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$': re.compile('^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}\\Z'),
    '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$': re.compile('^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\\Z'),
    '^[A-Z][A-Z0-9_]{0,31}$': re.compile('^[A-Z][A-Z0-9_]{0,31}\\Z')
}

NoneType = type(None)

def validate(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (dict)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be object", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'http://json-schema.org/draft-07/schema#', 'title': 'Fraud decision policy', 'description': 'Maps a scored transaction to an outcome: score bands, then ordered rules written in CEL (https://cel.dev). See docs/policy.md.', 'type': 'object', 'additionalProperties': False, 'required': ['schema_version', 'version', 'outcomes', 'bands'], 'properties': {'schema_version': {'const': 1}, 'version': {'description': 'The policy version reported with every decision (policy_version).', 'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$'}, 'description': {'type': 'string'}, 'outcomes': {'description': 'Every outcome name, least severe first (ALL_MATCHED picks the most severe matched one).', 'type': 'array', 'minItems': 1, 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}}, 'mode': {'description': 'FIRST_MATCHED: the first matching rule decides. ALL_MATCHED: every matching rule is reported and the most severe outcome among them decides.', 'enum': ['FIRST_MATCHED', 'ALL_MATCHED'], 'default': 'FIRST_MATCHED'}, 'bands': {'description': 'Score bands, contiguous over [0, 1]: a band holds min <= score < max; the last band also holds score == 1.', 'type': 'array', 'minItems': 1, 'items': {'type': 'object', 'additionalProperties': False, 'required': ['outcome', 'min', 'max'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min': {'type': 'number', 'minimum': 0, 'maximum': 1}, 'max': {'type': 'number', 'minimum': 0, 'maximum': 1}}}}, 'rules': {'description': "Ordered rules; a matching rule overrides the band's outcome.", 'type': 'array', 'items': {'type': 'object', 'additionalProperties': False, 'required': ['id', 'description', 'when', 'outcome'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'description': {'type': 'string', 'minLength': 1}, 'when': {'description': 'A CEL expression that yields a bool, over score, the features (by name, or f0..fN by position) and request fields (transaction_id).', 'type': 'string', 'minLength': 1}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min_score': {'description': 'The rule is only considered when score >= min_score (checked before the expression: keeps decisions cheap).', 'type': 'number', 'minimum': 0, 'maximum': 1}}}}}, 'definitions': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}}}, rule='type')
    data_is_dict = isinstance(data, dict)
    if data_is_dict:
        data__missing_keys = set(['schema_version', 'version', 'outcomes', 'bands']) - data.keys()
        if data__missing_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must contain " + (str(sorted(data__missing_keys)) + " properties"), value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'http://json-schema.org/draft-07/schema#', 'title': 'Fraud decision policy', 'description': 'Maps a scored transaction to an outcome: score bands, then ordered rules written in CEL (https://cel.dev). See docs/policy.md.', 'type': 'object', 'additionalProperties': False, 'required': ['schema_version', 'version', 'outcomes', 'bands'], 'properties': {'schema_version': {'const': 1}, 'version': {'description': 'The policy version reported with every decision (policy_version).', 'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$'}, 'description': {'type': 'string'}, 'outcomes': {'description': 'Every outcome name, least severe first (ALL_MATCHED picks the most severe matched one).', 'type': 'array', 'minItems': 1, 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}}, 'mode': {'description': 'FIRST_MATCHED: the first matching rule decides. ALL_MATCHED: every matching rule is reported and the most severe outcome among them decides.', 'enum': ['FIRST_MATCHED', 'ALL_MATCHED'], 'default': 'FIRST_MATCHED'}, 'bands': {'description': 'Score bands, contiguous over [0, 1]: a band holds min <= score < max; the last band also holds score == 1.', 'type': 'array', 'minItems': 1, 'items': {'type': 'object', 'additionalProperties': False, 'required': ['outcome', 'min', 'max'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min': {'type': 'number', 'minimum': 0, 'maximum': 1}, 'max': {'type': 'number', 'minimum': 0, 'maximum': 1}}}}, 'rules': {'description': "Ordered rules; a matching rule overrides the band's outcome.", 'type': 'array', 'items': {'type': 'object', 'additionalProperties': False, 'required': ['id', 'description', 'when', 'outcome'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'description': {'type': 'string', 'minLength': 1}, 'when': {'description': 'A CEL expression that yields a bool, over score, the features (by name, or f0..fN by position) and request fields (transaction_id).', 'type': 'string', 'minLength': 1}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min_score': {'description': 'The rule is only considered when score >= min_score (checked before the expression: keeps decisions cheap).', 'type': 'number', 'minimum': 0, 'maximum': 1}}}}}, 'definitions': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}}}, rule='required')
        data_keys = set(data.keys())
        if "schema_version" in data_keys:
            data_keys.remove("schema_version")
            data__schemaversion = data["schema_version"]
            if not (isinstance(data__schemaversion, (int, float)) and not isinstance(data__schemaversion, bool) and data__schemaversion == 1):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".schema_version must be same as const definition: 1", value=data__schemaversion, name="" + (name_prefix or "data") + ".schema_version", definition={'const': 1}, rule='const')
        if "version" in data_keys:
            data_keys.remove("version")
            data__version = data["version"]
            if not isinstance(data__version, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".version must be string", value=data__version, name="" + (name_prefix or "data") + ".version", definition={'description': 'The policy version reported with every decision (policy_version).', 'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$'}, rule='type')
            if isinstance(data__version, str):
                if not REGEX_PATTERNS['^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$'].search(data__version):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".version must match pattern ^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$", value=data__version, name="" + (name_prefix or "data") + ".version", definition={'description': 'The policy version reported with every decision (policy_version).', 'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$'}, rule='pattern')
        if "description" in data_keys:
            data_keys.remove("description")
            data__description = data["description"]
            if not isinstance(data__description, (str)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".description must be string", value=data__description, name="" + (name_prefix or "data") + ".description", definition={'type': 'string'}, rule='type')
        if "outcomes" in data_keys:
            data_keys.remove("outcomes")
            data__outcomes = data["outcomes"]
            if not isinstance(data__outcomes, (list, tuple)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".outcomes must be array", value=data__outcomes, name="" + (name_prefix or "data") + ".outcomes", definition={'description': 'Every outcome name, least severe first (ALL_MATCHED picks the most severe matched one).', 'type': 'array', 'minItems': 1, 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}}, rule='type')
            data__outcomes_is_list = isinstance(data__outcomes, (list, tuple))
            if data__outcomes_is_list:
                data__outcomes_len = len(data__outcomes)
                if data__outcomes_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".outcomes must contain at least 1 items", value=data__outcomes, name="" + (name_prefix or "data") + ".outcomes", definition={'description': 'Every outcome name, least severe first (ALL_MATCHED picks the most severe matched one).', 'type': 'array', 'minItems': 1, 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}}, rule='minItems')
                def fn(var): return frozenset(dict((k, fn(v)) for k, v in var.items()).items()) if hasattr(var, "items") else tuple(fn(v) for v in var) if isinstance(var, (dict, list)) else (bool, var) if isinstance(var, bool) else var
                if data__outcomes_len > len(set(fn(data__outcomes_x) for data__outcomes_x in data__outcomes)):
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".outcomes must contain unique items", value=data__outcomes, name="" + (name_prefix or "data") + ".outcomes", definition={'description': 'Every outcome name, least severe first (ALL_MATCHED picks the most severe matched one).', 'type': 'array', 'minItems': 1, 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}}, rule='uniqueItems')
                for data__outcomes_x, data__outcomes_item in enumerate(data__outcomes):
                    validate___definitions_outcome(data__outcomes_item, custom_formats, (name_prefix or "data") + ".outcomes[{data__outcomes_x}]".format(**locals()))
        if "mode" in data_keys:
            data_keys.remove("mode")
            data__mode = data["mode"]
            if not (isinstance(data__mode, str) and data__mode == 'FIRST_MATCHED' or isinstance(data__mode, str) and data__mode == 'ALL_MATCHED'):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".mode must be one of ['FIRST_MATCHED', 'ALL_MATCHED']", value=data__mode, name="" + (name_prefix or "data") + ".mode", definition={'description': 'FIRST_MATCHED: the first matching rule decides. ALL_MATCHED: every matching rule is reported and the most severe outcome among them decides.', 'enum': ['FIRST_MATCHED', 'ALL_MATCHED'], 'default': 'FIRST_MATCHED'}, rule='enum')
        if "bands" in data_keys:
            data_keys.remove("bands")
            data__bands = data["bands"]
            if not isinstance(data__bands, (list, tuple)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".bands must be array", value=data__bands, name="" + (name_prefix or "data") + ".bands", definition={'description': 'Score bands, contiguous over [0, 1]: a band holds min <= score < max; the last band also holds score == 1.', 'type': 'array', 'minItems': 1, 'items': {'type': 'object', 'additionalProperties': False, 'required': ['outcome', 'min', 'max'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min': {'type': 'number', 'minimum': 0, 'maximum': 1}, 'max': {'type': 'number', 'minimum': 0, 'maximum': 1}}}}, rule='type')
            data__bands_is_list = isinstance(data__bands, (list, tuple))
            if data__bands_is_list:
                data__bands_len = len(data__bands)
                if data__bands_len < 1:
                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".bands must contain at least 1 items", value=data__bands, name="" + (name_prefix or "data") + ".bands", definition={'description': 'Score bands, contiguous over [0, 1]: a band holds min <= score < max; the last band also holds score == 1.', 'type': 'array', 'minItems': 1, 'items': {'type': 'object', 'additionalProperties': False, 'required': ['outcome', 'min', 'max'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min': {'type': 'number', 'minimum': 0, 'maximum': 1}, 'max': {'type': 'number', 'minimum': 0, 'maximum': 1}}}}, rule='minItems')
                for data__bands_x, data__bands_item in enumerate(data__bands):
                    if not isinstance(data__bands_item, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".bands[{data__bands_x}]".format(**locals()) + " must be object", value=data__bands_item, name="" + (name_prefix or "data") + ".bands[{data__bands_x}]".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['outcome', 'min', 'max'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min': {'type': 'number', 'minimum': 0, 'maximum': 1}, 'max': {'type': 'number', 'minimum': 0, 'maximum': 1}}}, rule='type')
                    data__bands_item_is_dict = isinstance(data__bands_item, dict)
                    if data__bands_item_is_dict:
                        data__bands_item__missing_keys = set(['outcome', 'min', 'max']) - data__bands_item.keys()
                        if data__bands_item__missing_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".bands[{data__bands_x}]".format(**locals()) + " must contain " + (str(sorted(data__bands_item__missing_keys)) + " properties"), value=data__bands_item, name="" + (name_prefix or "data") + ".bands[{data__bands_x}]".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['outcome', 'min', 'max'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min': {'type': 'number', 'minimum': 0, 'maximum': 1}, 'max': {'type': 'number', 'minimum': 0, 'maximum': 1}}}, rule='required')
                        data__bands_item_keys = set(data__bands_item.keys())
                        if "id" in data__bands_item_keys:
                            data__bands_item_keys.remove("id")
                            data__bands_item__id = data__bands_item["id"]
                            validate___definitions_id(data__bands_item__id, custom_formats, (name_prefix or "data") + ".bands[{data__bands_x}].id".format(**locals()))
                        if "outcome" in data__bands_item_keys:
                            data__bands_item_keys.remove("outcome")
                            data__bands_item__outcome = data__bands_item["outcome"]
                            validate___definitions_outcome(data__bands_item__outcome, custom_formats, (name_prefix or "data") + ".bands[{data__bands_x}].outcome".format(**locals()))
                        if "min" in data__bands_item_keys:
                            data__bands_item_keys.remove("min")
                            data__bands_item__min = data__bands_item["min"]
                            if not isinstance(data__bands_item__min, (int, float, Decimal)) or isinstance(data__bands_item__min, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".bands[{data__bands_x}].min".format(**locals()) + " must be number", value=data__bands_item__min, name="" + (name_prefix or "data") + ".bands[{data__bands_x}].min".format(**locals()) + "", definition={'type': 'number', 'minimum': 0, 'maximum': 1}, rule='type')
                            if isinstance(data__bands_item__min, (int, float, Decimal)) and not isinstance(data__bands_item__min, bool):
                                if data__bands_item__min < 0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".bands[{data__bands_x}].min".format(**locals()) + " must be bigger than or equal to 0", value=data__bands_item__min, name="" + (name_prefix or "data") + ".bands[{data__bands_x}].min".format(**locals()) + "", definition={'type': 'number', 'minimum': 0, 'maximum': 1}, rule='minimum')
                                if data__bands_item__min > 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".bands[{data__bands_x}].min".format(**locals()) + " must be smaller than or equal to 1", value=data__bands_item__min, name="" + (name_prefix or "data") + ".bands[{data__bands_x}].min".format(**locals()) + "", definition={'type': 'number', 'minimum': 0, 'maximum': 1}, rule='maximum')
                        if "max" in data__bands_item_keys:
                            data__bands_item_keys.remove("max")
                            data__bands_item__max = data__bands_item["max"]
                            if not isinstance(data__bands_item__max, (int, float, Decimal)) or isinstance(data__bands_item__max, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".bands[{data__bands_x}].max".format(**locals()) + " must be number", value=data__bands_item__max, name="" + (name_prefix or "data") + ".bands[{data__bands_x}].max".format(**locals()) + "", definition={'type': 'number', 'minimum': 0, 'maximum': 1}, rule='type')
                            if isinstance(data__bands_item__max, (int, float, Decimal)) and not isinstance(data__bands_item__max, bool):
                                if data__bands_item__max < 0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".bands[{data__bands_x}].max".format(**locals()) + " must be bigger than or equal to 0", value=data__bands_item__max, name="" + (name_prefix or "data") + ".bands[{data__bands_x}].max".format(**locals()) + "", definition={'type': 'number', 'minimum': 0, 'maximum': 1}, rule='minimum')
                                if data__bands_item__max > 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".bands[{data__bands_x}].max".format(**locals()) + " must be smaller than or equal to 1", value=data__bands_item__max, name="" + (name_prefix or "data") + ".bands[{data__bands_x}].max".format(**locals()) + "", definition={'type': 'number', 'minimum': 0, 'maximum': 1}, rule='maximum')
                        if data__bands_item_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".bands[{data__bands_x}]".format(**locals()) + " must not contain "+str(data__bands_item_keys)+" properties", value=data__bands_item, name="" + (name_prefix or "data") + ".bands[{data__bands_x}]".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['outcome', 'min', 'max'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min': {'type': 'number', 'minimum': 0, 'maximum': 1}, 'max': {'type': 'number', 'minimum': 0, 'maximum': 1}}}, rule='additionalProperties')
        if "rules" in data_keys:
            data_keys.remove("rules")
            data__rules = data["rules"]
            if not isinstance(data__rules, (list, tuple)):
                raise JsonSchemaValueException("" + (name_prefix or "data") + ".rules must be array", value=data__rules, name="" + (name_prefix or "data") + ".rules", definition={'description': "Ordered rules; a matching rule overrides the band's outcome.", 'type': 'array', 'items': {'type': 'object', 'additionalProperties': False, 'required': ['id', 'description', 'when', 'outcome'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'description': {'type': 'string', 'minLength': 1}, 'when': {'description': 'A CEL expression that yields a bool, over score, the features (by name, or f0..fN by position) and request fields (transaction_id).', 'type': 'string', 'minLength': 1}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min_score': {'description': 'The rule is only considered when score >= min_score (checked before the expression: keeps decisions cheap).', 'type': 'number', 'minimum': 0, 'maximum': 1}}}}, rule='type')
            data__rules_is_list = isinstance(data__rules, (list, tuple))
            if data__rules_is_list:
                data__rules_len = len(data__rules)
                for data__rules_x, data__rules_item in enumerate(data__rules):
                    if not isinstance(data__rules_item, (dict)):
                        raise JsonSchemaValueException("" + (name_prefix or "data") + ".rules[{data__rules_x}]".format(**locals()) + " must be object", value=data__rules_item, name="" + (name_prefix or "data") + ".rules[{data__rules_x}]".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['id', 'description', 'when', 'outcome'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'description': {'type': 'string', 'minLength': 1}, 'when': {'description': 'A CEL expression that yields a bool, over score, the features (by name, or f0..fN by position) and request fields (transaction_id).', 'type': 'string', 'minLength': 1}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min_score': {'description': 'The rule is only considered when score >= min_score (checked before the expression: keeps decisions cheap).', 'type': 'number', 'minimum': 0, 'maximum': 1}}}, rule='type')
                    data__rules_item_is_dict = isinstance(data__rules_item, dict)
                    if data__rules_item_is_dict:
                        data__rules_item__missing_keys = set(['id', 'description', 'when', 'outcome']) - data__rules_item.keys()
                        if data__rules_item__missing_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".rules[{data__rules_x}]".format(**locals()) + " must contain " + (str(sorted(data__rules_item__missing_keys)) + " properties"), value=data__rules_item, name="" + (name_prefix or "data") + ".rules[{data__rules_x}]".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['id', 'description', 'when', 'outcome'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'description': {'type': 'string', 'minLength': 1}, 'when': {'description': 'A CEL expression that yields a bool, over score, the features (by name, or f0..fN by position) and request fields (transaction_id).', 'type': 'string', 'minLength': 1}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min_score': {'description': 'The rule is only considered when score >= min_score (checked before the expression: keeps decisions cheap).', 'type': 'number', 'minimum': 0, 'maximum': 1}}}, rule='required')
                        data__rules_item_keys = set(data__rules_item.keys())
                        if "id" in data__rules_item_keys:
                            data__rules_item_keys.remove("id")
                            data__rules_item__id = data__rules_item["id"]
                            validate___definitions_id(data__rules_item__id, custom_formats, (name_prefix or "data") + ".rules[{data__rules_x}].id".format(**locals()))
                        if "description" in data__rules_item_keys:
                            data__rules_item_keys.remove("description")
                            data__rules_item__description = data__rules_item["description"]
                            if not isinstance(data__rules_item__description, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".rules[{data__rules_x}].description".format(**locals()) + " must be string", value=data__rules_item__description, name="" + (name_prefix or "data") + ".rules[{data__rules_x}].description".format(**locals()) + "", definition={'type': 'string', 'minLength': 1}, rule='type')
                            if isinstance(data__rules_item__description, str):
                                data__rules_item__description_len = len(data__rules_item__description)
                                if data__rules_item__description_len < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".rules[{data__rules_x}].description".format(**locals()) + " must be longer than or equal to 1 characters", value=data__rules_item__description, name="" + (name_prefix or "data") + ".rules[{data__rules_x}].description".format(**locals()) + "", definition={'type': 'string', 'minLength': 1}, rule='minLength')
                        if "when" in data__rules_item_keys:
                            data__rules_item_keys.remove("when")
                            data__rules_item__when = data__rules_item["when"]
                            if not isinstance(data__rules_item__when, (str)):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".rules[{data__rules_x}].when".format(**locals()) + " must be string", value=data__rules_item__when, name="" + (name_prefix or "data") + ".rules[{data__rules_x}].when".format(**locals()) + "", definition={'description': 'A CEL expression that yields a bool, over score, the features (by name, or f0..fN by position) and request fields (transaction_id).', 'type': 'string', 'minLength': 1}, rule='type')
                            if isinstance(data__rules_item__when, str):
                                data__rules_item__when_len = len(data__rules_item__when)
                                if data__rules_item__when_len < 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".rules[{data__rules_x}].when".format(**locals()) + " must be longer than or equal to 1 characters", value=data__rules_item__when, name="" + (name_prefix or "data") + ".rules[{data__rules_x}].when".format(**locals()) + "", definition={'description': 'A CEL expression that yields a bool, over score, the features (by name, or f0..fN by position) and request fields (transaction_id).', 'type': 'string', 'minLength': 1}, rule='minLength')
                        if "outcome" in data__rules_item_keys:
                            data__rules_item_keys.remove("outcome")
                            data__rules_item__outcome = data__rules_item["outcome"]
                            validate___definitions_outcome(data__rules_item__outcome, custom_formats, (name_prefix or "data") + ".rules[{data__rules_x}].outcome".format(**locals()))
                        if "min_score" in data__rules_item_keys:
                            data__rules_item_keys.remove("min_score")
                            data__rules_item__minscore = data__rules_item["min_score"]
                            if not isinstance(data__rules_item__minscore, (int, float, Decimal)) or isinstance(data__rules_item__minscore, bool):
                                raise JsonSchemaValueException("" + (name_prefix or "data") + ".rules[{data__rules_x}].min_score".format(**locals()) + " must be number", value=data__rules_item__minscore, name="" + (name_prefix or "data") + ".rules[{data__rules_x}].min_score".format(**locals()) + "", definition={'description': 'The rule is only considered when score >= min_score (checked before the expression: keeps decisions cheap).', 'type': 'number', 'minimum': 0, 'maximum': 1}, rule='type')
                            if isinstance(data__rules_item__minscore, (int, float, Decimal)) and not isinstance(data__rules_item__minscore, bool):
                                if data__rules_item__minscore < 0:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".rules[{data__rules_x}].min_score".format(**locals()) + " must be bigger than or equal to 0", value=data__rules_item__minscore, name="" + (name_prefix or "data") + ".rules[{data__rules_x}].min_score".format(**locals()) + "", definition={'description': 'The rule is only considered when score >= min_score (checked before the expression: keeps decisions cheap).', 'type': 'number', 'minimum': 0, 'maximum': 1}, rule='minimum')
                                if data__rules_item__minscore > 1:
                                    raise JsonSchemaValueException("" + (name_prefix or "data") + ".rules[{data__rules_x}].min_score".format(**locals()) + " must be smaller than or equal to 1", value=data__rules_item__minscore, name="" + (name_prefix or "data") + ".rules[{data__rules_x}].min_score".format(**locals()) + "", definition={'description': 'The rule is only considered when score >= min_score (checked before the expression: keeps decisions cheap).', 'type': 'number', 'minimum': 0, 'maximum': 1}, rule='maximum')
                        if data__rules_item_keys:
                            raise JsonSchemaValueException("" + (name_prefix or "data") + ".rules[{data__rules_x}]".format(**locals()) + " must not contain "+str(data__rules_item_keys)+" properties", value=data__rules_item, name="" + (name_prefix or "data") + ".rules[{data__rules_x}]".format(**locals()) + "", definition={'type': 'object', 'additionalProperties': False, 'required': ['id', 'description', 'when', 'outcome'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'description': {'type': 'string', 'minLength': 1}, 'when': {'description': 'A CEL expression that yields a bool, over score, the features (by name, or f0..fN by position) and request fields (transaction_id).', 'type': 'string', 'minLength': 1}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min_score': {'description': 'The rule is only considered when score >= min_score (checked before the expression: keeps decisions cheap).', 'type': 'number', 'minimum': 0, 'maximum': 1}}}, rule='additionalProperties')
        if data_keys:
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must not contain "+str(data_keys)+" properties", value=data, name="" + (name_prefix or "data") + "", definition={'$schema': 'http://json-schema.org/draft-07/schema#', 'title': 'Fraud decision policy', 'description': 'Maps a scored transaction to an outcome: score bands, then ordered rules written in CEL (https://cel.dev). See docs/policy.md.', 'type': 'object', 'additionalProperties': False, 'required': ['schema_version', 'version', 'outcomes', 'bands'], 'properties': {'schema_version': {'const': 1}, 'version': {'description': 'The policy version reported with every decision (policy_version).', 'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$'}, 'description': {'type': 'string'}, 'outcomes': {'description': 'Every outcome name, least severe first (ALL_MATCHED picks the most severe matched one).', 'type': 'array', 'minItems': 1, 'uniqueItems': True, 'items': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}}, 'mode': {'description': 'FIRST_MATCHED: the first matching rule decides. ALL_MATCHED: every matching rule is reported and the most severe outcome among them decides.', 'enum': ['FIRST_MATCHED', 'ALL_MATCHED'], 'default': 'FIRST_MATCHED'}, 'bands': {'description': 'Score bands, contiguous over [0, 1]: a band holds min <= score < max; the last band also holds score == 1.', 'type': 'array', 'minItems': 1, 'items': {'type': 'object', 'additionalProperties': False, 'required': ['outcome', 'min', 'max'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min': {'type': 'number', 'minimum': 0, 'maximum': 1}, 'max': {'type': 'number', 'minimum': 0, 'maximum': 1}}}}, 'rules': {'description': "Ordered rules; a matching rule overrides the band's outcome.", 'type': 'array', 'items': {'type': 'object', 'additionalProperties': False, 'required': ['id', 'description', 'when', 'outcome'], 'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'description': {'type': 'string', 'minLength': 1}, 'when': {'description': 'A CEL expression that yields a bool, over score, the features (by name, or f0..fN by position) and request fields (transaction_id).', 'type': 'string', 'minLength': 1}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, 'min_score': {'description': 'The rule is only considered when score >= min_score (checked before the expression: keeps decisions cheap).', 'type': 'number', 'minimum': 0, 'maximum': 1}}}}}, 'definitions': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, 'outcome': {'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}}}, rule='additionalProperties')
    return data

def validate___definitions_id(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (str)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be string", value=data, name="" + (name_prefix or "data") + "", definition={'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, rule='type')
    if isinstance(data, str):
        if not REGEX_PATTERNS['^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'].search(data):
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must match pattern ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", value=data, name="" + (name_prefix or "data") + "", definition={'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'}, rule='pattern')
    return data

def validate___definitions_outcome(data, custom_formats={}, name_prefix=None):
    if not isinstance(data, (str)):
        raise JsonSchemaValueException("" + (name_prefix or "data") + " must be string", value=data, name="" + (name_prefix or "data") + "", definition={'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, rule='type')
    if isinstance(data, str):
        if not REGEX_PATTERNS['^[A-Z][A-Z0-9_]{0,31}$'].search(data):
            raise JsonSchemaValueException("" + (name_prefix or "data") + " must match pattern ^[A-Z][A-Z0-9_]{0,31}$", value=data, name="" + (name_prefix or "data") + "", definition={'type': 'string', 'pattern': '^[A-Z][A-Z0-9_]{0,31}$'}, rule='pattern')
    return data