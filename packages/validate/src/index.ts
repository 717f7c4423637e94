/**
 * Option checking shared by every convnets package. Internal: each package's
 * tsup build bundles it (`noExternal`), so it is never a published dependency.
 *
 * Every error has one wording:
 * `<where>: option "<option>" must be <what is allowed>; received <value>.`
 * and, for a key the function does not know,
 * `<where>: unknown option "<key>"; allowed options are "a", "b".`
 *
 * Each options type has one declaration, an {@link OptionSpec}: an object
 * with one {@link Check} per option, written `satisfies OptionSpec<Options>`
 * so that an option added to the interface without its check (or a check
 * without its option) is a type error. The allowed keys are that object's
 * keys ({@link optionKeys}), and {@link checkOptions} checks unknown keys and
 * every value in one call.
 *
 * @packageDocumentation
 */
export * from './core';
export * from './options';
export * from './values';
