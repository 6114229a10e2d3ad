// reflection.mjs - a real gRPC server reflection client (npm
// grpc-js-reflection-client on @grpc/grpc-js) against running services,
// with no .proto file at hand (issue 15):
//
//   node tests/contract/reflection.mjs --users HOST:PORT --posts HOST:PORT \
//        --auth HOST:PORT --token JWT --user-id ID --email EMAIL
//
// For each reflection version (v1, v1alpha) and each service: the listed
// services are exactly the ones it serves (its own, grpc.health.v1.Health
// and both ServerReflection versions; auth imports users.proto but does not
// serve UsersService); UsersService's methods are listed; its file is found
// by file name and by symbol; an unknown symbol and an unknown file are
// refused. Then UsersService/GetUser is called through a client built only
// from the descriptors fetched by reflection, and must return the user.
// Last, four requests on one stream get four answers in order.
// Exit 0 with one line per check, or 1 with the reasons. Run by the
// integration test reflection_grpc_it against the real services.
import grpc from '@grpc/grpc-js';
import reflectionClient from 'grpc-js-reflection-client';
// The same package's generated reflection stubs, for the raw stream check.
import v1Stubs from 'grpc-js-reflection-client/dist/Proto/v1.js';

const { GrpcReflection } = reflectionClient;
const V1 = v1Stubs.grpc.reflection.v1;

const REFLECTION = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];
const SERVED = {
	users: ['agentos.users.v1.UsersService'],
	posts: ['agentos.posts.v1.PostsService'],
	auth: ['agentos.auth.v1.AuthService'],
};
const USERS_METHODS = ['BatchGetUsers', 'ChangePassword', 'CreateUser', 'DeleteUser', 'GetUser',
	'ListUsers', 'UpdateUser', 'VerifyCredentials'];
const DEADLINE_MS = 5000;

function parseArgs(argv) {
	const out = {};
	for (let i = 0; i < argv.length; i += 2) {
		if (!argv[i].startsWith('--') || argv[i + 1] === undefined)
			throw new Error(`usage: reflection.mjs --users H:P --posts H:P --auth H:P --token T --user-id N --email E`);
		out[argv[i].slice(2)] = argv[i + 1];
	}
	for (const k of ['users', 'posts', 'auth', 'token', 'user-id', 'email'])
		if (!out[k])
			throw new Error(`missing --${k}`);
	return out;
}

function sameSet(got, want) {
	const a = [...got].sort(), b = [...want].sort();
	return a.length === b.length && a.every((x, i) => x === b[i]);
}

function deadline() {
	return { deadline: new Date(Date.now() + DEADLINE_MS) };
}

async function rejects(promise) {
	try {
		await promise;
		return false;
	} catch {
		return true;
	}
}

function getUser(pkg, target, id, token) {
	const UsersService = pkg?.agentos?.users?.v1?.UsersService;
	if (typeof UsersService !== 'function')
		throw new Error('agentos.users.v1.UsersService is not in the fetched descriptors');
	const client = new UsersService(target, grpc.credentials.createInsecure());
	const md = new grpc.Metadata();
	md.set('authorization', `Bearer ${token}`);
	return new Promise((resolve, reject) => {
		client.GetUser({ id }, md, deadline(), (err, reply) => {
			client.close();
			if (err)
				reject(new Error(`GetUser failed: ${err.code} ${err.details}`));
			else
				resolve(reply);
		});
	});
}

// Several requests on one stream (as grpcurl sends them): one answer each,
// in order, an error answer leaving the stream usable. Returns failures.
function oneStream(target) {
	const client = new V1.ServerReflectionClient(target, grpc.credentials.createInsecure());
	const asks = [
		{ listServices: '' },
		{ fileContainingSymbol: 'agentos.nope.v1.Nothing' },
		{ fileByFilename: 'agentos/users/v1/users.proto' },
		{ fileContainingSymbol: 'agentos.users.v1.UsersService.GetUser' },
	];
	const want = ['listServicesResponse', 'errorResponse', 'fileDescriptorResponse', 'fileDescriptorResponse'];
	return new Promise((resolve) => {
		const got = [];
		const call = client.ServerReflectionInfo(deadline());
		call.on('data', (res) => got.push(res));
		call.on('error', (err) => resolve([`one stream: ${err.message}`]));
		call.on('end', () => {
			client.close();
			const kinds = got.map((r) => r.message_response);
			const errors = [];
			if (JSON.stringify(kinds) !== JSON.stringify(want))
				errors.push(`one stream: answers ${JSON.stringify(kinds)}, expected ${JSON.stringify(want)}`);
			else if (got[1].errorResponse.errorCode !== grpc.status.NOT_FOUND)
				errors.push(`one stream: unknown symbol gave code ${got[1].errorResponse.errorCode}`);
			else if (got[2].fileDescriptorResponse.fileDescriptorProto.length !== 6)
				errors.push(`one stream: users.proto came with ${got[2].fileDescriptorResponse.fileDescriptorProto.length} files, expected itself and 5 imports`);
			resolve(errors);
		});
		for (const a of asks)
			call.write(V1.ServerReflectionRequest.fromObject(a));
		call.end();
	});
}

// The checks of one service with one reflection version; returns failures.
async function checkService(name, target, version, args) {
	const errors = [];
	const c = new GrpcReflection(target, grpc.credentials.createInsecure(), {}, version);
	const want = [...SERVED[name], 'grpc.health.v1.Health', ...REFLECTION];
	const listed = await c.listServices('', deadline());
	if (!sameSet(listed, want))
		errors.push(`${name} ${version}: listServices gave ${JSON.stringify(listed)}, expected ${JSON.stringify(want)}`);
	if (!(await rejects(c.getDescriptorBySymbol('agentos.nope.v1.Nothing', deadline()))))
		errors.push(`${name} ${version}: an unknown symbol was answered`);
	if (!(await rejects(c.getDescriptorByFileName('no/such/file.proto', deadline()))))
		errors.push(`${name} ${version}: an unknown file was answered`);
	if (name !== 'users')
		return errors;

	const methods = (await c.listMethods('agentos.users.v1.UsersService', deadline())).map((m) => m.name);
	if (!sameSet(methods, USERS_METHODS))
		errors.push(`users ${version}: listMethods gave ${JSON.stringify(methods)}`);
	const byFile = await c.getDescriptorByFileName('agentos/users/v1/users.proto', deadline());
	if (!byFile.getProtobufJsRoot().lookup('agentos.users.v1.GetUserRequest'))
		errors.push(`users ${version}: users.proto by file name has no GetUserRequest`);
	// Only what reflection returned: the service's file and its imports.
	const descriptor = await c.getDescriptorBySymbol('agentos.users.v1.UsersService', deadline());
	const pkg = descriptor.getPackageObject({ keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
	const user = await getUser(pkg, target, args['user-id'], args.token);
	if (String(user.id) !== String(args['user-id']) || user.email !== args.email)
		errors.push(`users ${version}: GetUser returned ${JSON.stringify(user)}`);
	else
		console.log(`reflection: users ${version}: GetUser(${user.id}) = ${user.email} through fetched descriptors`);
	return errors;
}

async function main(argv) {
	let args;
	try {
		args = parseArgs(argv);
	} catch (e) {
		console.error(e.message);
		return 2;
	}
	const errors = [];
	for (const version of ['v1', 'v1alpha']) {
		for (const name of ['users', 'posts', 'auth']) {
			try {
				const errs = await checkService(name, args[name], version, args);
				errors.push(...errs);
				if (errs.length === 0)
					console.log(`reflection: ${name} ${version}: ok`);
			} catch (e) {
				errors.push(`${name} ${version}: ${e.message}`);
			}
		}
	}
	const streamErrors = await oneStream(args.users);
	errors.push(...streamErrors);
	if (streamErrors.length === 0)
		console.log('reflection: users: four requests on one stream answered in order');
	for (const e of errors)
		console.error(`reflection: ${e}`);
	return errors.length ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
