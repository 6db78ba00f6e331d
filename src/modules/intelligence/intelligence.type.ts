import { Field, Float, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { IncidentType } from "../incidents/incident.type.js";
import { LabelInput } from "../services/service.inputs.js";
import { SimilarityReasonKind } from "./similarity.js";

registerEnumType(SimilarityReasonKind, { name: "SimilarityReasonKind" });

@ObjectType("SearchHit", { simpleResolvers: true })
export class SearchHitType {
  @Field(() => IncidentType) incident!: IncidentType;
  @Field(() => Float, { description: "Relevance: higher is better (SQLite: -bm25; PostgreSQL: ts_rank_cd)." }) score!: number;
  @Field(() => [String], { description: "Excerpts of the title, description and notes that matched, matched words between ** and **." })
  highlights!: string[];
}

@ObjectType("SimilarityReason", { simpleResolvers: true })
export class SimilarityReasonType {
  @Field(() => SimilarityReasonKind) kind!: SimilarityReasonKind;
  @Field(() => String, { description: "TEXT: the shared terms; SERVICE: same service; LABELS: the shared pairs; ALERT: the shared alert names." })
  detail!: string;
  @Field(() => Float, { description: "This reason's part of the score; the parts sum to the score." }) weight!: number;
}

@ObjectType("SimilarIncident", { simpleResolvers: true })
export class SimilarIncidentType {
  @Field(() => IncidentType) incident!: IncidentType;
  @Field(() => Float, { description: "In (0, 1]: the sum of the reasons' weights (text 0.8, service 0.06, labels 0.08, alerts 0.06 at most)." }) score!: number;
  @Field(() => [SimilarityReasonType]) reasons!: SimilarityReasonType[];
}

@InputType("SimilarToInput", { description: "A draft incident, as createIncident would take it." })
export class SimilarToInput {
  @Field(() => String) title!: string;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => ID, { nullable: true }) serviceId?: string | null;
  @Field(() => [LabelInput], { nullable: true }) labels?: LabelInput[] | null;
}
