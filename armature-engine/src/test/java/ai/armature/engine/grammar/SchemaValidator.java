package ai.armature.engine.grammar;

import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;

import java.util.List;

/** A real JSON Schema validator (networknt, draft 2020-12), independent of the grammar compiler. */
public final class SchemaValidator {
    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private final Schema schema;

    public SchemaValidator(String schemaJson) {
        this.schema = REGISTRY.getSchema(schemaJson, InputFormat.JSON);
    }

    /** The validation errors of {@code json} (empty when valid); a parse failure is an error too. */
    public List<String> errors(String json) {
        try {
            List<Error> errors = schema.validate(json, InputFormat.JSON);
            return errors.stream().map(Error::toString).toList();
        } catch (RuntimeException e) {
            return List.of("not JSON: " + e.getMessage());
        }
    }
}
